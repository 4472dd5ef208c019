//! A tree of named steps, each timed, and the summary table printed at the end.
//!
//! Every step runs even when an earlier one failed, so one CI run reports every
//! broken thing at once; the caller turns [`Steps::failed`] into the exit code.

use std::time::Instant;

/// What a step returns: `Err` carries a one-line reason for the summary.
pub(crate) type StepResult = Result<(), String>;

struct Row {
    depth: usize,
    name: String,
    outcome: Option<String>,
    seconds: f64,
}

/// The steps run so far, in order, with their nesting.
#[derive(Default)]
pub(crate) struct Steps {
    rows: Vec<Row>,
    depth: usize,
}

impl Steps {
    /// Runs `f` as the step `name`. Steps that `f` starts are its children; the
    /// step fails when `f` returns `Err` or when any child failed.
    pub(crate) fn run(&mut self, name: &str, f: impl FnOnce(&mut Steps) -> StepResult) {
        let path = self
            .open_path()
            .chain(Some(name))
            .collect::<Vec<_>>()
            .join(" / ");
        eprintln!("\n==> {path}");
        let index = self.rows.len();
        self.rows.push(Row {
            depth: self.depth,
            name: name.to_owned(),
            outcome: None,
            seconds: 0.0,
        });
        let start = Instant::now();
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        let child_failed = self.rows[index + 1..].iter().any(|r| r.outcome.is_some());
        let outcome = match result {
            Err(reason) => Some(reason),
            Ok(()) if child_failed => Some("a sub-step failed".to_owned()),
            Ok(()) => None,
        };
        if let Some(reason) = &outcome {
            eprintln!("==> {path} FAILED: {reason}");
        }
        let row = &mut self.rows[index];
        row.outcome = outcome;
        row.seconds = start.elapsed().as_secs_f64();
    }

    /// Names of the steps currently running, outermost first.
    fn open_path(&self) -> impl Iterator<Item = &str> {
        let mut open: Vec<&str> = Vec::new();
        for row in self.rows.iter().filter(|r| r.depth < self.depth) {
            open.truncate(row.depth);
            open.push(&row.name);
        }
        open.truncate(self.depth);
        open.into_iter()
    }

    /// True when any step failed.
    pub(crate) fn failed(&self) -> bool {
        self.rows.iter().any(|r| r.outcome.is_some())
    }

    /// The summary table: step, result, seconds; children indented under parents.
    pub(crate) fn summary(&self) -> String {
        let label = |r: &Row| format!("{}{}", "  ".repeat(r.depth), r.name);
        let width = self
            .rows
            .iter()
            .map(|r| label(r).len())
            .chain(Some(4))
            .max()
            .unwrap_or(4);
        let mut out = format!("{:width$}  {:6}  {:>8}\n", "step", "result", "seconds");
        for row in &self.rows {
            let result = if row.outcome.is_some() {
                "FAILED"
            } else {
                "ok"
            };
            out += &format!("{:width$}  {result:6}  {:>8.1}", label(row), row.seconds);
            if let Some(reason) = &row.outcome {
                out += &format!("  {reason}");
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_propagate_to_parents_and_later_steps_still_run() {
        let mut steps = Steps::default();
        let mut ran_after_failure = false;
        steps.run("outer", |s| {
            s.run("bad", |_| Err("exit status: 101".to_owned()));
            s.run("good", |_| Ok(()));
            Ok(())
        });
        steps.run("last", |_| {
            ran_after_failure = true;
            Ok(())
        });
        assert!(ran_after_failure);
        assert!(steps.failed());
        let table = steps.summary();
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[1].starts_with("outer ") && lines[1].contains("FAILED"),
            "{table}"
        );
        assert!(
            lines[2].starts_with("  bad ") && lines[2].contains("exit status: 101"),
            "{table}"
        );
        assert!(
            lines[3].starts_with("  good ") && lines[3].contains(" ok "),
            "{table}"
        );
        assert!(
            lines[4].starts_with("last ") && lines[4].contains(" ok "),
            "{table}"
        );
    }

    #[test]
    fn all_ok_is_not_failed() {
        let mut steps = Steps::default();
        steps.run("fmt", |_| Ok(()));
        assert!(!steps.failed());
        assert!(steps.summary().contains("fmt "));
    }
}

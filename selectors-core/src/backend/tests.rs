//! The engine's rules, on a scripted adapter: what each call asks of the
//! kernel, and what the engine makes of the kernel's answers.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::{
    readiness, Adapter, Collect, Engine, Refused, Sink, Slot, Timeout, Wait, Waited, WakePipe,
};
use crate::raw::INVALID;
use crate::{Error, Events, RawFd, Selector, SelectorMap, Waker};

/// One kernel event a scripted wait delivers.
#[derive(Clone, Copy, Debug)]
enum Ev {
    Tagged(RawFd, u32, Events),
    Fd(RawFd, Events),
    Wake,
}

#[derive(Debug, Default)]
struct Script {
    /// Every call, in order.
    calls: Vec<String>,
    /// The errno the next add/modify/delete fails with.
    refuse: Option<i32>,
    /// What the next waits deliver, one batch per wait.
    waits: Vec<Result<Vec<Ev>, i32>>,
    pipe: Option<Arc<WakePipe>>,
}

impl Script {
    fn call(&mut self, what: String) -> Result<(), Refused> {
        self.calls.push(what);
        match self.refuse.take() {
            Some(errno) => Err(Refused::new("ctl", io::Error::from_raw_os_error(errno))),
            None => Ok(()),
        }
    }
}

impl Adapter for Script {
    const NAME: &'static str = "Script";
    const SPLITS_EVENTS: bool = true;

    fn open() -> io::Result<Self> {
        Ok(Script::default())
    }
    fn add(&mut self, s: Slot, e: Events) -> Result<(), Refused> {
        self.call(format!("add {} {} {e:?}", s.fd, s.tag))
    }
    fn modify(&mut self, s: Slot, old: Events, new: Events) -> Result<(), Refused> {
        self.call(format!("modify {} {old:?} {new:?}", s.fd))
    }
    fn delete(&mut self, s: Slot, e: Events) -> Result<(), Refused> {
        self.call(format!("delete {} {e:?}", s.fd))
    }
    fn is_gone(error: &io::Error) -> bool {
        error.raw_os_error() == Some(9)
    }
    fn wait<T, C: Collect<T>>(&mut self, timeout: Timeout, sink: &mut Sink<'_, T, C>) -> Wait {
        self.calls.push(format!("wait {timeout:?}"));
        let batch = if self.waits.is_empty() {
            Ok(Vec::new())
        } else {
            self.waits.remove(0)
        };
        let batch = batch.map_err(|e| Refused::new("wait", io::Error::from_raw_os_error(e)))?;
        for ev in batch {
            match ev {
                Ev::Tagged(fd, tag, e) => {
                    if !sink.tagged(fd, tag, e) {
                        sink.stale();
                    }
                }
                Ev::Fd(fd, e) => sink.fd(fd, e),
                Ev::Wake => sink.woken(),
            }
        }
        Ok(Waited::Something)
    }
    fn install_waker<T>(&mut self, map: &SelectorMap<T>) -> io::Result<(Waker, Option<RawFd>)> {
        let pipe = Arc::new(WakePipe::avoiding(|fd| map.contains(fd))?);
        self.pipe = Some(pipe.clone());
        let fd = pipe.fd();
        Ok((Waker::new(pipe), Some(fd)))
    }
    fn after_fork<T>(&mut self, map: &SelectorMap<T>, waker: Option<RawFd>) -> io::Result<()> {
        let old = self.pipe.take().map(|pipe| pipe.fd());
        assert_eq!(old, waker, "the engine names the old waker's fd");
        self.calls
            .push(format!("after_fork {} {}", map.len(), old.is_some()));
        Ok(())
    }
    fn tidy<T>(&mut self, map: &SelectorMap<T>) -> bool {
        self.calls.push(format!("tidy {}", map.len()));
        true
    }
}

fn engine() -> Engine<Script, u32> {
    Engine::new().unwrap()
}

fn calls(sel: &mut Engine<Script, u32>) -> Vec<String> {
    std::mem::take(&mut sel.adapter_mut().calls)
}

#[test]
fn validation_comes_before_the_kernel_and_commit_after_it() {
    let mut sel = engine();
    let r = sel.register(INVALID, Events::EMPTY, 0);
    assert!(matches!(r, Err(Error::InvalidEvents { fd: INVALID })));
    assert!(matches!(
        sel.register(INVALID, Events::READ, 0),
        Err(Error::InvalidFd { fd: INVALID })
    ));
    assert!(calls(&mut sel).is_empty());

    sel.adapter_mut().refuse = Some(1);
    let err = sel.register(5, Events::READ, 1).unwrap_err();
    assert_eq!((err.fd(), err.raw_os_error()), (Some(5), Some(1)));
    assert!(
        sel.get_map().is_empty(),
        "a refused register leaves no trace"
    );

    sel.register(5, Events::READ, 2).unwrap();
    assert!(matches!(
        sel.register(5, Events::ALL, 3),
        Err(Error::AlreadyRegistered { fd: 5 })
    ));
    assert!(matches!(
        sel.modify(5, Events::EMPTY, 3),
        Err(Error::InvalidEvents { fd: 5 })
    ));
    assert!(matches!(
        sel.modify(6, Events::READ, 3),
        Err(Error::NotRegistered { fd: 6 })
    ));
    sel.modify(5, Events::READ, 4).unwrap();
    assert_eq!(
        calls(&mut sel),
        ["add 5 1 READ", "add 5 1 READ"],
        "same events: no call"
    );
    assert_eq!(sel.get_key(5).unwrap().data, 4);
}

#[test]
fn a_failed_modify_unregisters_and_gone_fds_unregister() {
    let mut sel = engine();
    sel.register(3, Events::READ, 0).unwrap();
    sel.adapter_mut().refuse = Some(12);
    let err = sel.modify(3, Events::WRITE, 1).unwrap_err();
    assert_eq!((err.fd(), err.raw_os_error()), (Some(3), Some(12)));
    assert!(sel.get_map().is_empty());
    calls(&mut sel);

    sel.register(3, Events::READ, 0).unwrap();
    sel.adapter_mut().refuse = Some(9); // EBADF: closed behind our back
    assert_eq!(sel.unregister(3).unwrap().fd, 3);
    sel.register(3, Events::READ, 0).unwrap();
    sel.adapter_mut().refuse = Some(12); // anything else: still registered
    assert_eq!(sel.unregister(3).unwrap_err().raw_os_error(), Some(12));
    assert_eq!(sel.get_map().len(), 1);
    let tags: Vec<String> = calls(&mut sel)
        .into_iter()
        .filter(|c| c.starts_with("add"))
        .collect();
    assert_eq!(
        tags,
        ["add 3 2 READ", "add 3 3 READ"],
        "a new tag per registration"
    );
}

#[test]
fn select_merges_masks_and_drops_stale_events() {
    let mut sel = engine();
    sel.register(4, Events::ALL, 40).unwrap();
    sel.register(7, Events::READ, 70).unwrap();
    let t4 = 1;
    sel.adapter_mut().waits = vec![Ok(vec![
        Ev::Tagged(4, t4, Events::WRITE),
        Ev::Fd(7, readiness(false, true, false)), // masked away
        Ev::Tagged(4, t4, Events::READ),
        Ev::Fd(9, Events::READ), // not registered
    ])];
    let mut ready = vec![(*sel.get_key(7).unwrap(), Events::READ)];
    assert_eq!(sel.select_into(None, &mut ready).unwrap(), 1);
    assert_eq!(ready, [(*sel.get_key(4).unwrap(), Events::ALL)]);

    // Only a stale event: tidy, then look again without waiting.
    sel.adapter_mut().waits = vec![Ok(vec![Ev::Tagged(7, 99, Events::READ)])];
    calls(&mut sel);
    let ready = sel.select(Some(Duration::from_secs(1))).unwrap();
    assert!(ready.is_empty());
    assert_eq!(
        calls(&mut sel),
        ["wait Some(1s)", "tidy 2", "wait Some(0ns)"]
    );
}

#[test]
// Unix: errno 4 is EINTR there; std calls Windows' WSAEINTR `Uncategorized`,
// so a Windows adapter maps it itself.
#[cfg(unix)]
fn eintr_is_empty_huge_timeouts_are_clamped_and_errors_name_the_call() {
    let mut sel = engine();
    sel.register(4, Events::ALL, 40).unwrap();
    sel.adapter_mut().waits = vec![Err(4), Err(22)];
    assert_eq!(sel.select(Some(Duration::MAX)).unwrap(), []);
    let err = sel.select(Some(Duration::ZERO)).unwrap_err();
    assert_eq!((err.fd(), err.raw_os_error()), (None, Some(22)));
    assert!(err.to_string().contains("wait"), "{err}");
    assert_eq!(
        calls(&mut sel)[1],
        format!("wait {:?}", Some(super::MAX_TIMEOUT))
    );
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri cannot make a socket non-blocking (ioctl FIONBIO)"
)]
fn the_waker_is_made_once_drained_after_a_wake_and_never_registered() {
    let mut sel = engine();
    let waker = sel.waker().unwrap();
    assert!(waker.will_wake(&sel.waker().unwrap()));
    let fd = sel.adapter_mut().pipe.as_ref().unwrap().fd();
    assert!(matches!(
        sel.register(fd, Events::READ, 0),
        Err(Error::AlreadyRegistered { .. })
    ));
    waker.wake().unwrap();
    sel.adapter_mut().waits = vec![Ok(vec![Ev::Wake])];
    assert_eq!(sel.select(None).unwrap(), []);
    assert_eq!(
        sel.adapter_mut().pipe.as_ref().unwrap().drain().unwrap(),
        0,
        "drained"
    );
    assert!(format!("{sel:?}").starts_with("Script { fds: {}, waker: Some(Waker(WakePipe"));
}

#[test]
fn after_fork_rebuilds_the_adapter_and_replaces_the_waker() {
    let mut sel = engine();
    sel.register(4, Events::READ, 40).unwrap();
    sel.after_fork_in_child().unwrap();
    assert_eq!(calls(&mut sel).last().unwrap(), "after_fork 1 false");
    assert!(sel.adapter().pipe.is_none(), "no waker made for nothing");

    let old = sel.waker().unwrap();
    sel.after_fork_in_child().unwrap();
    assert_eq!(calls(&mut sel).last().unwrap(), "after_fork 1 true");
    let new = sel.waker().unwrap();
    assert!(!old.will_wake(&new), "the child's waker is its own");
    assert!(new.will_wake(&sel.waker().unwrap()));
    assert_eq!(sel.get_map().len(), 1);
}

/// A primitive that fails a wait on nothing (Winsock's): counts its waits.
#[derive(Debug, Default)]
struct RefusesEmpty {
    waits: usize,
}

impl Adapter for RefusesEmpty {
    const NAME: &'static str = "RefusesEmpty";
    const REFUSES_EMPTY_WAIT: bool = true;

    fn open() -> io::Result<Self> {
        Ok(RefusesEmpty::default())
    }
    fn add(&mut self, _: Slot, _: Events) -> Result<(), Refused> {
        Ok(())
    }
    fn modify(&mut self, _: Slot, _: Events, _: Events) -> Result<(), Refused> {
        Ok(())
    }
    fn delete(&mut self, _: Slot, _: Events) -> Result<(), Refused> {
        Ok(())
    }
    fn wait<T, C: Collect<T>>(&mut self, _: Timeout, _: &mut Sink<'_, T, C>) -> Wait {
        self.waits += 1;
        Ok(Waited::Nothing)
    }
    fn install_waker<T>(&mut self, map: &SelectorMap<T>) -> io::Result<(Waker, Option<RawFd>)> {
        let pipe = Arc::new(WakePipe::avoiding(|fd| map.contains(fd))?);
        let fd = pipe.fd();
        Ok((Waker::new(pipe), Some(fd)))
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri cannot make a socket non-blocking (ioctl FIONBIO)"
)]
fn an_empty_selector_sleeps_where_the_primitive_refuses_to_wait_on_nothing() {
    let mut sel: Engine<RefusesEmpty> = Engine::new().unwrap();
    assert_eq!(sel.select(Some(Duration::ZERO)).unwrap(), []);
    assert_eq!(sel.adapter().waits, 0, "nothing to wait on: no wait");
    sel.register(4, Events::READ, ()).unwrap();
    sel.select(Some(Duration::ZERO)).unwrap();
    sel.unregister(4).unwrap();
    sel.select(Some(Duration::ZERO)).unwrap();
    assert_eq!(sel.adapter().waits, 1);
    // The waker alone is something to wait on.
    sel.waker().unwrap();
    sel.select(Some(Duration::ZERO)).unwrap();
    assert_eq!(sel.adapter().waits, 2);
}

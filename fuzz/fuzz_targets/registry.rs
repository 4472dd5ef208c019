//! Fuzzes the registry state machine every backend shares: arbitrary
//! register / modify / unregister sequences on `Engine<Kernel, u16>`, where
//! `Kernel` is a model kernel that checks what the engine asks of it (valid
//! arguments only, the registration's tag and position, a new key last, the
//! last key moved into a removed one's hole). After every step the selector,
//! the model kernel and a `HashMap` model agree: the error Python would
//! raise, the key and data, `len`, `fd_bound`, positions, tags (never 0,
//! unique while live, kept by modify), and what `select` reports (each live
//! fd once; an event under another tag dropped). Fd numbers mix small ones,
//! ones above the dense index and ones near `i32::MAX`, and the heap stays
//! proportional to the registrations (issue 12, defect 1). Close, dup2 and
//! fd reuse between calls need real fds: the property tests
//! (`io-selectors/tests/properties.rs`) run those on every backend.
#![no_main]

use std::collections::HashMap;
use std::io;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use selectors_core::backend::{self, Adapter, Collect, Engine, Refused, Sink, Slot, Waited};
use selectors_core::{Error, Events, RawFd, Selector, SelectorMap, Waker};

#[derive(Arbitrary, Debug)]
enum Op {
    Register { fd: i32, events: u8, data: u16 },
    Modify { fd: i32, events: u8, data: u16 },
    Unregister { fd: i32 },
}

/// The kernel's interest list as the engine told it, by position:
/// (fd, events, tag).
#[derive(Debug, Default)]
struct Kernel(Vec<(RawFd, Events, u32)>);

impl Kernel {
    fn tag_of(&self, fd: RawFd) -> Option<u32> {
        self.0.iter().find(|e| e.0 == fd).map(|e| e.2)
    }
}

impl Adapter for Kernel {
    const NAME: &'static str = "Kernel";

    fn open() -> io::Result<Self> {
        Ok(Kernel::default())
    }

    fn add(&mut self, slot: Slot, events: Events) -> Result<(), Refused> {
        assert!(slot.fd >= 0 && !events.is_empty());
        assert!(self.tag_of(slot.fd).is_none(), "fd {} added twice", slot.fd);
        assert!(slot.tag != 0, "tag 0");
        assert!(
            self.0.iter().all(|e| e.2 != slot.tag),
            "tag {} reused",
            slot.tag
        );
        assert_eq!(slot.position, self.0.len(), "a new key goes last");
        self.0.push((slot.fd, events, slot.tag));
        Ok(())
    }

    fn modify(&mut self, slot: Slot, old: Events, new: Events) -> Result<(), Refused> {
        assert!(old != new && !new.is_empty(), "{old:?} -> {new:?}");
        let entry = &mut self.0[slot.position];
        assert_eq!(*entry, (slot.fd, old, slot.tag));
        entry.1 = new;
        Ok(())
    }

    fn delete(&mut self, slot: Slot, events: Events) -> Result<(), Refused> {
        assert_eq!(self.0[slot.position], (slot.fd, events, slot.tag));
        self.0.swap_remove(slot.position);
        Ok(())
    }

    fn wait<T, C: Collect<T>>(
        &mut self,
        _: Option<Duration>,
        sink: &mut Sink<'_, T, C>,
    ) -> Result<Waited, Refused> {
        for &(fd, _, tag) in &self.0 {
            // Another registration's event is dropped; the live one counts.
            assert!(!sink.tagged(fd, tag.wrapping_add(1), Events::ALL));
            assert!(sink.tagged(fd, tag, Events::ALL));
        }
        Ok(if self.0.is_empty() {
            Waited::Nothing
        } else {
            Waited::Something
        })
    }

    fn install_waker<T>(&mut self, _: &SelectorMap<T>) -> io::Result<(Waker, Option<RawFd>)> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// What the model says a registration is: events, data.
type Model = HashMap<RawFd, (Events, u16)>;

fuzz_target!(|ops: Vec<Op>| {
    let mut sel: Engine<Kernel, u16> = Engine::new().unwrap();
    let mut model: Model = HashMap::new();
    let mut ready = Vec::new();
    // The most registrations at once: the index never shrinks.
    let mut peak = 0;
    for op in ops {
        match op {
            Op::Register {
                fd,
                events: e,
                data,
            } => {
                let (fd, events) = (number(fd), events(e));
                let expected = if events.is_empty() {
                    Some("InvalidEvents")
                } else if fd < 0 {
                    Some("InvalidFd")
                } else if model.contains_key(&fd) {
                    Some("AlreadyRegistered")
                } else {
                    None
                };
                match (sel.register(fd, events, data), expected) {
                    (Ok(key), None) => {
                        assert_eq!((key.fd, key.events, key.data), (fd, events, data));
                        model.insert(fd, (events, data));
                    }
                    (Err(e), Some(name)) => check_error(&e, fd, name),
                    (got, want) => panic!("register({fd}): got {got:?}, want {want:?}"),
                }
            }
            Op::Modify {
                fd,
                events: e,
                data,
            } => {
                let (fd, events) = (number(fd), events(e));
                let expected = if fd < 0 {
                    Some("InvalidFd")
                } else if !model.contains_key(&fd) {
                    Some("NotRegistered")
                } else if events.is_empty() {
                    Some("InvalidEvents")
                } else {
                    None
                };
                let tag = sel.adapter().tag_of(fd);
                match (sel.modify(fd, events, data), expected) {
                    (Ok(key), None) => {
                        assert_eq!((key.fd, key.events, key.data), (fd, events, data));
                        model.insert(fd, (events, data));
                        assert_eq!(sel.adapter().tag_of(fd), tag, "modify keeps the tag");
                    }
                    (Err(e), Some(name)) => check_error(&e, fd, name),
                    (got, want) => panic!("modify({fd}): got {got:?}, want {want:?}"),
                }
            }
            Op::Unregister { fd } => {
                let fd = number(fd);
                match (sel.unregister(fd), model.remove(&fd)) {
                    (Ok(key), Some((events, data))) => {
                        assert_eq!((key.fd, key.events, key.data), (fd, events, data));
                    }
                    (Err(e), None) => {
                        check_error(&e, fd, if fd < 0 { "InvalidFd" } else { "NotRegistered" })
                    }
                    (got, want) => panic!("unregister({fd}): got {got:?}, want {want:?}"),
                }
            }
        }
        // Selector, kernel and model agree after every step.
        let map = sel.get_map();
        assert_eq!((map.len(), map.is_empty()), (model.len(), model.is_empty()));
        peak = peak.max(model.len());
        let heap = sel.heap_bytes();
        assert!(heap <= 8192 + 128 * peak, "{heap} bytes");
        let bound = model.keys().max().map_or(0, |&fd| fd as usize + 1);
        assert_eq!(backend::fd_bound(map), bound);
        let kernel = &sel.adapter().0;
        assert_eq!(kernel.len(), model.len());
        for (slot, events) in backend::slots(map) {
            let key = &map[slot.fd];
            assert_eq!(model[&slot.fd], (events, key.data));
            assert_eq!(kernel[slot.position], (slot.fd, events, slot.tag));
        }

        sel.select_into(Some(Duration::ZERO), &mut ready).unwrap();
        let mut got: Vec<_> = ready.iter().map(|(k, e)| (k.fd, *e, k.data)).collect();
        let mut want: Vec<_> = model.iter().map(|(&fd, &(e, d))| (fd, e, d)).collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want);
    }
});

fn events(bits: u8) -> Events {
    Events::from_bits(u32::from(bits & 3)).unwrap()
}

/// A fuzzed number as a fd: negative stays negative; otherwise a small
/// number, one above the dense index, or one near `i32::MAX`, each from a
/// range of 64 so that numbers repeat.
fn number(raw: i32) -> i32 {
    if raw < 0 {
        return raw;
    }
    let n = (raw >> 2) & 63;
    match raw & 3 {
        0 => i32::MAX - n,
        1 => 5000 + n,
        _ => n,
    }
}

fn check_error(err: &Error, fd: i32, name: &str) {
    let ok = matches!(
        (err, name),
        (Error::InvalidEvents { .. }, "InvalidEvents")
            | (Error::InvalidFd { .. }, "InvalidFd")
            | (Error::AlreadyRegistered { .. }, "AlreadyRegistered")
            | (Error::NotRegistered { .. }, "NotRegistered")
    );
    assert!(ok, "fd {fd}: got {err:?}, want {name}");
    assert_eq!(err.fd(), Some(fd));
    assert!(err.to_string().contains(&fd.to_string()), "{err}");
}

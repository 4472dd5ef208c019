//! Fuzzes `SelectorMap`, the registry state machine every backend shares:
//! arbitrary register / modify / unregister sequences, each validated the way
//! a backend does (`check_vacant`, `check_modify`, `key`) and then applied,
//! checked after every step against a `HashMap` model: the error Python would
//! raise, the key and data, `len`, `fd_bound`, positions, tags.
#![no_main]

use std::collections::HashMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use selectors_core::{Error, Events, SelectorMap};

#[derive(Arbitrary, Debug)]
enum Op {
    Register { fd: i16, events: u8, data: u16 },
    Modify { fd: i16, events: u8, data: u16 },
    Unregister { fd: i16 },
}

/// What the model says a registration is: events, data, tag.
type Model = HashMap<i32, (Events, u16, u32)>;

fuzz_target!(|ops: Vec<Op>| {
    let mut map = SelectorMap::new();
    let mut model: Model = HashMap::new();
    for op in ops {
        match op {
            Op::Register { fd, events, data } => {
                let (fd, events) = (i32::from(fd), Events::from_bits(u32::from(events & 3)).unwrap());
                let expected = if events.is_empty() {
                    Some("InvalidEvents")
                } else if fd < 0 {
                    Some("InvalidFd")
                } else if model.contains_key(&fd) {
                    Some("AlreadyRegistered")
                } else {
                    None
                };
                match (map.check_vacant(fd, events), expected) {
                    (Ok(()), None) => {
                        let tag = map.next_tag();
                        assert!(tag != 0);
                        assert!(model.values().all(|&(_, _, t)| t != tag), "tag {tag} reused");
                        let key = map.insert(fd, events, data);
                        assert_eq!((key.fd, key.events, key.data), (fd, events, data));
                        assert_eq!(map.tag(fd), Some(tag));
                        model.insert(fd, (events, data, tag));
                    }
                    (Err(e), Some(name)) => check_error(&e, fd, name),
                    (got, want) => panic!("register({fd}): got {got:?}, want {want:?}"),
                }
            }
            Op::Modify { fd, events, data } => {
                let (fd, events) = (i32::from(fd), Events::from_bits(u32::from(events & 3)).unwrap());
                let expected = if fd < 0 {
                    Err("InvalidFd")
                } else if !model.contains_key(&fd) {
                    Err("NotRegistered")
                } else if events.is_empty() {
                    Err("InvalidEvents")
                } else {
                    Ok(model[&fd].0)
                };
                match (map.check_modify(fd, events), expected) {
                    (Ok(old), Ok(want)) => {
                        assert_eq!(old, want);
                        let key = map.update(fd, events, data);
                        assert_eq!((key.fd, key.events, key.data), (fd, events, data));
                        let entry = model.get_mut(&fd).unwrap();
                        entry.0 = events;
                        entry.1 = data;
                        assert_eq!(map.tag(fd), Some(entry.2));
                    }
                    (Err(e), Err(name)) => check_error(&e, fd, name),
                    (got, want) => panic!("modify({fd}): got {got:?}, want {want:?}"),
                }
            }
            Op::Unregister { fd } => {
                let fd = i32::from(fd);
                match (map.key(fd), model.get(&fd)) {
                    (Ok(key), Some(&(events, data, _))) => {
                        assert_eq!((key.fd, key.events, key.data), (fd, events, data));
                        let len = map.len();
                        let (key, pos) = map.remove(fd).unwrap();
                        assert_eq!((key.fd, key.data), (fd, data));
                        assert!(pos < len);
                        model.remove(&fd);
                    }
                    (Err(e), None) => {
                        check_error(&e, fd, if fd < 0 { "InvalidFd" } else { "NotRegistered" });
                        assert!(map.remove(fd).is_none());
                    }
                    (got, want) => panic!("unregister({fd}): got {got:?}, want {want:?}"),
                }
            }
        }
        // The whole map agrees with the model after every step.
        assert_eq!(map.len(), model.len());
        assert_eq!(map.is_empty(), model.is_empty());
        let bound = model.keys().max().map_or(0, |&fd| fd as usize + 1);
        assert_eq!(map.fd_bound(), bound);
        assert_eq!(map.iter().count(), model.len());
        for (pos, key) in map.iter().enumerate() {
            let &(events, data, tag) = &model[&key.fd];
            assert_eq!((key.events, key.data), (events, data));
            assert_eq!(map.position(key.fd), Some(pos));
            assert_eq!(map.at(pos).fd, key.fd);
            assert_eq!(map.get_tagged(key.fd, tag).map(|k| k.fd), Some(key.fd));
            assert!(map.get_tagged(key.fd, tag.wrapping_add(1)).is_none() || tag.wrapping_add(1) == 0);
        }
    }
});

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

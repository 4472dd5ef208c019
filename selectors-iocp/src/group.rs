//! The AFD device handles polls are sent on, each shared by up to
//! [`GROUP_SIZE`] registrations, as wepoll and mio share theirs.

use std::io;

use crate::afd::Device;
use crate::port::Port;

/// Registrations per AFD device handle (wepoll's and mio's
/// `POLL_GROUP__MAX_GROUP_SIZE`).
const GROUP_SIZE: usize = 32;

/// One AFD device handle, and how many registrations use it.
#[derive(Debug)]
struct Group {
    device: Device,
    users: usize,
}

/// The devices of one selector, opened as registrations need them and kept
/// until it is dropped (a request may still be pending on any of them).
#[derive(Debug, Default)]
pub(crate) struct Groups {
    groups: Vec<Group>,
    /// Groups with fewer than [`GROUP_SIZE`] users.
    spare: Vec<usize>,
}

impl Groups {
    /// A device with room for one more registration, opened (associated
    /// with `port` under `key`) if none has room.
    pub(crate) fn take(&mut self, port: &Port, key: usize) -> io::Result<usize> {
        let group = match self.spare.last() {
            Some(&group) => group,
            None => {
                let device = Device::open(port, key)?;
                self.groups.push(Group { device, users: 0 });
                self.spare.push(self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        self.groups[group].users += 1;
        if self.groups[group].users == GROUP_SIZE {
            self.spare.pop();
        }
        Ok(group)
    }

    /// Gives back the place [`take`](Groups::take) gave.
    pub(crate) fn release(&mut self, group: usize) {
        self.groups[group].users -= 1;
        if self.groups[group].users == GROUP_SIZE - 1 {
            self.spare.push(group);
        }
    }

    /// The device of `group`.
    #[inline]
    pub(crate) fn device(&self, group: usize) -> &Device {
        &self.groups[group].device
    }

    /// How many devices are open.
    pub(crate) fn len(&self) -> usize {
        self.groups.len()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.groups.capacity() * size_of::<Group>() + self.spare.capacity() * size_of::<usize>()
    }
}

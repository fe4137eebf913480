//! Storage for the calls and attempts in flight: slots reused as they free up,
//! each with an epoch that tells a current slot from a reused one.

#[derive(Debug)]
pub(crate) struct Slab<T> {
    items: Vec<(u32, Option<T>)>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// Stores `item`: its slot and the slot's epoch.
    #[inline]
    pub(crate) fn insert(&mut self, item: T) -> (u32, u32) {
        self.len += 1;
        match self.free.pop() {
            Some(slot) => {
                let entry = &mut self.items[slot as usize];
                entry.1 = Some(item);
                (slot, entry.0)
            }
            None => {
                self.items.push((0, Some(item)));
                ((self.items.len() - 1) as u32, 0)
            }
        }
    }

    /// Takes the item out of `slot`, which must hold one.
    #[inline]
    pub(crate) fn remove(&mut self, slot: u32) -> T {
        let entry = &mut self.items[slot as usize];
        entry.0 = entry.0.wrapping_add(1);
        self.free.push(slot);
        self.len -= 1;
        entry.1.take().expect("a live slot")
    }

    /// The item in `slot` if it is still the one of `epoch`.
    #[inline]
    pub(crate) fn get_mut_at(&mut self, slot: u32, epoch: u32) -> Option<&mut T> {
        match self.items.get_mut(slot as usize) {
            Some((e, item)) if *e == epoch => item.as_mut(),
            _ => None,
        }
    }

    /// The item in `slot`, if one is there.
    #[inline]
    pub(crate) fn get_live_mut(&mut self, slot: u32) -> Option<&mut T> {
        self.items.get_mut(slot as usize)?.1.as_mut()
    }

    #[inline]
    pub(crate) fn get(&self, slot: u32) -> &T {
        self.items[slot as usize].1.as_ref().expect("a live slot")
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, slot: u32) -> &mut T {
        self.items[slot as usize].1.as_mut().expect("a live slot")
    }

    /// The epoch of `slot` now.
    #[inline]
    pub(crate) fn epoch(&self, slot: u32) -> u32 {
        self.items[slot as usize].0
    }

    /// Items stored.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

//! The pool's books: which object is where, how many bytes each tier holds,
//! the least-recently-used order, and which objects to spill.
//!
//! The store decides; the caller (R, which holds the objects) carries the
//! decisions out and reports back (`on_disk`, `drop_memory`, ...). Every count
//! is recomputable from the entries, and `check()` does exactly that in tests,
//! so the books cannot drift.

use std::collections::{BTreeMap, HashMap};

/// Spilling stops once memory is at most this fraction of the budget, so that
/// the next few objects fit without another spill.
pub const SPILL_TARGET: f64 = 0.8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Where {
    Memory,
    Disk,
    Both,
}

impl Where {
    pub fn name(self) -> &'static str {
        match self {
            Where::Memory => "memory",
            Where::Disk => "disk",
            Where::Both => "both",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Entry {
    /// The object's size in memory (payload bytes for atomic vectors).
    pub bytes: u64,
    /// The size of its file, once written.
    pub file_bytes: u64,
    pub in_memory: bool,
    pub on_disk: bool,
    /// Position in the LRU order: larger is more recent.
    tick: u64,
    /// Wall-clock time of the last use, for display.
    pub last_used: f64,
}

impl Entry {
    pub fn place(&self) -> Where {
        match (self.in_memory, self.on_disk) {
            (true, true) => Where::Both,
            (false, true) => Where::Disk,
            // An entry is always somewhere; (false, false) does not occur.
            (true, false) | (false, false) => Where::Memory,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub hits: u64,
    pub misses: u64,
    pub spills: u64,
    pub memory_bytes: u64,
    pub disk_bytes: u64,
    pub budget: u64,
    pub objects: u64,
}

/// What to do with a new object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Keep it in memory (it is now accounted there) after spilling `victims`,
    /// least recently used first.
    Memory { victims: Vec<u64> },
    /// It alone exceeds the budget: write it straight to disk.
    Disk,
}

#[derive(Debug)]
pub struct Store {
    budget: u64,
    entries: HashMap<u64, Entry>,
    lru: BTreeMap<u64, u64>,
    tick: u64,
    next_id: u64,
    memory: u64,
    disk: u64,
    hits: u64,
    misses: u64,
    spills: u64,
}

impl Store {
    pub fn new(budget: u64) -> Store {
        Store {
            budget,
            entries: HashMap::new(),
            lru: BTreeMap::new(),
            tick: 0,
            next_id: 1,
            memory: 0,
            disk: 0,
            hits: 0,
            misses: 0,
            spills: 0,
        }
    }

    pub fn budget(&self) -> u64 {
        self.budget
    }

    pub fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn get(&self, id: u64) -> Option<&Entry> {
        self.entries.get(&id)
    }

    pub fn contains(&self, id: u64) -> bool {
        self.entries.contains_key(&id)
    }

    fn touch(&mut self, id: u64, now: f64) {
        self.tick += 1;
        let tick = self.tick;
        if let Some(e) = self.entries.get_mut(&id) {
            self.lru.remove(&e.tick);
            e.tick = tick;
            e.last_used = now;
            self.lru.insert(tick, id);
        }
    }

    /// Sets the budget; returns the objects to spill to get back under it.
    pub fn set_budget(&mut self, budget: u64) -> Vec<u64> {
        self.budget = budget;
        self.victims(None)
    }

    /// Objects to spill, least recently used first, when memory exceeds the
    /// budget: enough to bring it to `SPILL_TARGET` of the budget. `keep` is
    /// never chosen (the object being stored or read).
    pub fn victims(&self, keep: Option<u64>) -> Vec<u64> {
        if self.memory <= self.budget {
            return Vec::new();
        }
        let target = (self.budget as f64 * SPILL_TARGET) as u64;
        let mut left = self.memory;
        let mut out = Vec::new();
        for &id in self.lru.values() {
            if left <= target {
                break;
            }
            if Some(id) == keep {
                continue;
            }
            if let Some(e) = self.entries.get(&id) {
                if e.in_memory {
                    out.push(id);
                    left -= e.bytes;
                }
            }
        }
        out
    }

    /// A new object of `bytes`. In memory unless it alone exceeds the budget.
    pub fn admit(&mut self, id: u64, bytes: u64, now: f64) -> Admission {
        if bytes > self.budget {
            return Admission::Disk;
        }
        self.insert(id, bytes, true, now);
        Admission::Memory { victims: self.victims(Some(id)) }
    }

    fn insert(&mut self, id: u64, bytes: u64, in_memory: bool, now: f64) {
        self.remove(id);
        let e = Entry { bytes, file_bytes: 0, in_memory, on_disk: false, tick: 0, last_used: now };
        if in_memory {
            self.memory += bytes;
        }
        self.entries.insert(id, e);
        self.touch(id, now);
    }

    /// An object that was to go to disk but could not be written: it stays in
    /// memory even if that exceeds the budget (nothing is ever dropped).
    pub fn keep_in_memory(&mut self, id: u64, bytes: u64, now: f64) {
        match self.entries.get_mut(&id) {
            Some(e) if !e.in_memory => {
                e.in_memory = true;
                self.memory += e.bytes;
            }
            Some(_) => {}
            None => self.insert(id, bytes, true, now),
        }
    }

    /// An object too large for the budget was written straight to disk.
    pub fn add_disk(&mut self, id: u64, bytes: u64, file_bytes: u64, now: f64) {
        self.insert(id, bytes, false, now);
        if let Some(e) = self.entries.get_mut(&id) {
            e.on_disk = true;
            e.file_bytes = file_bytes;
            self.disk += file_bytes;
            self.spills += 1;
        }
    }

    /// An object was written to a file of `file_bytes`. With `keep`, its
    /// memory copy stays; otherwise it leaves memory (a spill). Returns false,
    /// changing nothing, for an object the store does not know (removed while
    /// it was being written): its file is then an orphan for the caller to remove.
    pub fn on_disk(&mut self, id: u64, file_bytes: u64, keep: bool) -> bool {
        let Some(e) = self.entries.get_mut(&id) else { return false };
        if e.on_disk {
            self.disk -= e.file_bytes;
        }
        e.on_disk = true;
        e.file_bytes = file_bytes;
        self.disk += file_bytes;
        if !keep && e.in_memory {
            e.in_memory = false;
            self.memory -= e.bytes;
            self.spills += 1;
        }
        true
    }

    /// Drops the memory copy of an object that is also on disk (no write needed).
    /// Returns false, and changes nothing, if the object has no file.
    pub fn drop_memory(&mut self, id: u64) -> bool {
        match self.entries.get_mut(&id) {
            Some(e) if e.on_disk && e.in_memory => {
                e.in_memory = false;
                self.memory -= e.bytes;
                self.spills += 1;
                true
            }
            Some(e) => e.on_disk,
            None => false,
        }
    }

    /// A read served from memory.
    pub fn hit(&mut self, id: u64, now: f64) {
        self.hits += 1;
        self.touch(id, now);
    }

    /// A read served from disk (of our own object when `id` is known, or of
    /// another process's).
    pub fn miss(&mut self, id: Option<u64>, now: f64) {
        self.misses += 1;
        if let Some(id) = id {
            self.touch(id, now);
        }
    }

    /// A copy read back from disk into memory (not a mapped view). Returns the
    /// objects to spill, or `None` when the copy should not be kept because it
    /// alone exceeds the budget.
    pub fn cache(&mut self, id: u64, now: f64) -> Option<Vec<u64>> {
        let budget = self.budget;
        let e = self.entries.get_mut(&id)?;
        if e.bytes > budget {
            return None;
        }
        if !e.in_memory {
            e.in_memory = true;
            self.memory += e.bytes;
        }
        self.touch(id, now);
        Some(self.victims(Some(id)))
    }

    /// Forgets an object; returns what it was.
    pub fn remove(&mut self, id: u64) -> Option<Entry> {
        let e = self.entries.remove(&id)?;
        self.lru.remove(&e.tick);
        if e.in_memory {
            self.memory -= e.bytes;
        }
        if e.on_disk {
            self.disk -= e.file_bytes;
        }
        Some(e)
    }

    /// Objects in LRU order, least recent first.
    pub fn status(&self) -> Vec<(u64, &Entry)> {
        self.lru.values().filter_map(|id| self.entries.get(id).map(|e| (*id, e))).collect()
    }

    pub fn stats(&self) -> Stats {
        Stats {
            hits: self.hits,
            misses: self.misses,
            spills: self.spills,
            memory_bytes: self.memory,
            disk_bytes: self.disk,
            budget: self.budget,
            objects: self.entries.len() as u64,
        }
    }

    /// Recomputes the totals from the entries; `Err` names the first mismatch.
    pub fn check(&self) -> Result<(), String> {
        let memory: u64 = self.entries.values().filter(|e| e.in_memory).map(|e| e.bytes).sum();
        let disk: u64 = self.entries.values().filter(|e| e.on_disk).map(|e| e.file_bytes).sum();
        if memory != self.memory {
            return Err(format!("memory total {} but entries hold {memory}", self.memory));
        }
        if disk != self.disk {
            return Err(format!("disk total {} but entries hold {disk}", self.disk));
        }
        if self.lru.len() != self.entries.len() {
            return Err("LRU order and entries disagree".into());
        }
        if self.entries.values().any(|e| !e.in_memory && !e.on_disk) {
            return Err("an entry is nowhere".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Carries out an admission the way the R layer does: spills the victims.
    fn store(s: &mut Store, bytes: u64, t: f64) -> u64 {
        let id = s.new_id();
        match s.admit(id, bytes, t) {
            Admission::Memory { victims } => {
                for v in victims {
                    if !s.drop_memory(v) {
                        let b = s.get(v).unwrap().bytes;
                        s.on_disk(v, b + 100, false);
                    }
                }
            }
            Admission::Disk => s.add_disk(id, bytes, bytes + 100, t),
        }
        id
    }

    #[test]
    fn lru_order_decides_the_spill() {
        let mut s = Store::new(100);
        let a = store(&mut s, 30, 1.0);
        let b = store(&mut s, 30, 2.0);
        let c = store(&mut s, 30, 3.0);
        s.hit(a, 4.0); // a is now the most recent; b the least
        let d = store(&mut s, 30, 5.0); // 120 > 100: spill to <= 80
        assert_eq!(s.get(b).unwrap().place(), Where::Disk);
        assert_eq!(s.get(c).unwrap().place(), Where::Disk);
        assert_eq!(s.get(a).unwrap().place(), Where::Memory);
        assert_eq!(s.get(d).unwrap().place(), Where::Memory);
        assert_eq!(s.stats().memory_bytes, 60);
        let order: Vec<u64> = s.status().iter().map(|(id, _)| *id).collect();
        assert_eq!(order, vec![b, c, a, d]);
        s.check().unwrap();
    }

    #[test]
    fn oversize_goes_to_disk_and_never_counts_in_memory() {
        let mut s = Store::new(100);
        let a = store(&mut s, 10, 1.0);
        let big = store(&mut s, 1000, 2.0);
        assert_eq!(s.get(big).unwrap().place(), Where::Disk);
        assert_eq!(s.get(a).unwrap().place(), Where::Memory);
        assert_eq!(s.stats().memory_bytes, 10);
        assert_eq!(s.stats().disk_bytes, 1100);
        assert_eq!(s.cache(big, 3.0), None);
        assert_eq!(s.stats().memory_bytes, 10);
        s.check().unwrap();
    }

    #[test]
    fn copies_and_read_backs() {
        let mut s = Store::new(100);
        let a = store(&mut s, 50, 1.0);
        assert!(s.on_disk(a, 150, true)); // copytodisk
        assert!(!s.on_disk(999, 1, true));
        assert_eq!(s.get(a).unwrap().place(), Where::Both);
        assert!(s.drop_memory(a)); // a spill of a copy needs no write
        assert_eq!(s.get(a).unwrap().place(), Where::Disk);
        assert_eq!(s.cache(a, 3.0), Some(vec![]));
        assert_eq!(s.get(a).unwrap().place(), Where::Both);
        let b = store(&mut s, 60, 4.0); // 110 > 100: a (a copy) goes
        assert_eq!(s.get(a).unwrap().place(), Where::Disk);
        assert_eq!(s.get(b).unwrap().place(), Where::Memory);
        let e = s.remove(a).unwrap();
        assert!(e.on_disk);
        assert_eq!(s.stats().disk_bytes, 0);
        s.check().unwrap();
    }

    #[test]
    fn failed_spill_keeps_the_object_and_the_books_straight() {
        let mut s = Store::new(100);
        let a = store(&mut s, 90, 1.0);
        let b = s.new_id();
        let Admission::Memory { victims } = s.admit(b, 50, 2.0) else { panic!() };
        assert_eq!(victims, vec![a]);
        // the write of `a` failed: nothing is reported, both stay in memory
        assert_eq!(s.stats().memory_bytes, 140);
        let big = s.new_id();
        assert_eq!(s.admit(big, 500, 3.0), Admission::Disk);
        s.keep_in_memory(big, 500, 3.0); // its write failed too
        assert_eq!(s.stats().memory_bytes, 640);
        s.check().unwrap();
    }

    #[test]
    fn shrinking_the_budget_spills() {
        let mut s = Store::new(1000);
        let ids: Vec<u64> = (0..10).map(|i| store(&mut s, 100, i as f64)).collect();
        let victims = s.set_budget(500);
        assert_eq!(victims, ids[..6].to_vec());
        assert!(s.set_budget(2000).is_empty());
    }

    #[test]
    fn budget_invariant_under_random_operations() {
        // A small deterministic generator: no extra dependency.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut s = Store::new(1000);
        let mut live: Vec<u64> = Vec::new();
        for step in 0..20_000 {
            let t = step as f64;
            match next(6) {
                0 | 1 => live.push(store(&mut s, next(1500), t)),
                2 if !live.is_empty() => {
                    let id = live[next(live.len() as u64) as usize];
                    let e = s.get(id).unwrap().clone();
                    if e.in_memory {
                        s.hit(id, t);
                    } else if let Some(victims) = s.cache(id, t) {
                        for v in victims {
                            if !s.drop_memory(v) {
                                let b = s.get(v).unwrap().bytes;
                                s.on_disk(v, b, false);
                            }
                        }
                    } else {
                        s.miss(Some(id), t);
                    }
                }
                3 if !live.is_empty() => {
                    let id = live.swap_remove(next(live.len() as u64) as usize);
                    s.remove(id).unwrap();
                }
                4 if !live.is_empty() => {
                    let id = live[next(live.len() as u64) as usize];
                    let b = s.get(id).unwrap().bytes;
                    s.on_disk(id, b, next(2) == 0);
                }
                _ => {
                    for v in s.set_budget(500 + next(1000)) {
                        if !s.drop_memory(v) {
                            let b = s.get(v).unwrap().bytes;
                            s.on_disk(v, b, false);
                        }
                    }
                }
            }
            assert!(s.stats().memory_bytes <= s.budget(), "step {step}: {:?}", s.stats());
            s.check().unwrap();
        }
    }
}

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

/// Steps waiting for what they need: queue them with their needs, take the ready ones, mark them
/// finished. Used to order a plan (take everything, one at a time) and, later, by the scheduler
/// that runs several steps at once.
///
/// The ready set is ordered by the key given at `queue` time, so that the order is the same on
/// every run.
#[derive(Debug)]
pub struct DependencyQueue<K: Ord + Clone, N: Eq + Hash + Clone> {
    /// For each waiting node: how many of its needs are not finished yet.
    waiting: HashMap<N, usize>,
    /// For each node: who needs it.
    dependents: HashMap<N, Vec<N>>,
    keys: HashMap<N, K>,
    ready: BTreeSet<(K, usize)>,
    nodes: Vec<N>,
    index: HashMap<N, usize>,
}

impl<K: Ord + Clone, N: Eq + Hash + Clone> Default for DependencyQueue<K, N> {
    fn default() -> Self {
        Self {
            waiting: HashMap::new(),
            dependents: HashMap::new(),
            keys: HashMap::new(),
            ready: BTreeSet::new(),
            nodes: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<K: Ord + Clone, N: Eq + Hash + Clone> DependencyQueue<K, N> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `node`, ordered by `key` among ready nodes, that may start once every node in
    /// `needs` finished. Needs that are never queued are taken as finished already.
    pub fn queue(&mut self, node: N, key: K, needs: &[N]) {
        let i = self.nodes.len();
        self.nodes.push(node.clone());
        self.index.insert(node.clone(), i);
        self.keys.insert(node.clone(), key);
        self.waiting.insert(node.clone(), needs.len());
        for need in needs {
            self.dependents
                .entry(need.clone())
                .or_default()
                .push(node.clone());
        }
    }

    /// Call once everything is queued: counts only needs that were queued.
    pub fn seal(&mut self) {
        let queued: std::collections::HashSet<N> = self.nodes.iter().cloned().collect();
        for (need, dependents) in &self.dependents {
            if !queued.contains(need) {
                for dependent in dependents {
                    if let Some(count) = self.waiting.get_mut(dependent) {
                        *count -= 1;
                    }
                }
            }
        }
        self.dependents.retain(|need, _| queued.contains(need));
        for (node, count) in &self.waiting {
            if *count == 0 {
                self.ready
                    .insert((self.keys[node].clone(), self.index[node]));
            }
        }
    }

    /// The ready node with the smallest key, removed from the ready set.
    pub fn dequeue(&mut self) -> Option<N> {
        let (_, i) = self.ready.pop_first()?;
        let node = self.nodes[i].clone();
        self.waiting.remove(&node);
        Some(node)
    }

    /// Marks `node` finished: its dependents whose needs are all finished become ready.
    pub fn finish(&mut self, node: &N) {
        for dependent in self.dependents.remove(node).unwrap_or_default() {
            if let Some(count) = self.waiting.get_mut(&dependent) {
                *count -= 1;
                if *count == 0 {
                    self.ready
                        .insert((self.keys[&dependent].clone(), self.index[&dependent]));
                }
            }
        }
    }

    /// Whether nothing is waiting or ready.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_dequeue_finish() {
        let mut q = DependencyQueue::new();
        q.queue("c", 2, &["a", "b"]);
        q.queue("a", 0, &[]);
        q.queue("b", 1, &["a", "outside"]);
        q.seal();
        assert_eq!(q.dequeue(), Some("a"));
        assert_eq!(q.dequeue(), None);
        q.finish(&"a");
        assert_eq!(q.dequeue(), Some("b"));
        assert_eq!(q.dequeue(), None);
        q.finish(&"b");
        assert_eq!(q.dequeue(), Some("c"));
        q.finish(&"c");
        assert!(q.is_empty());
    }

    #[test]
    fn ready_nodes_come_out_by_key() {
        let mut q = DependencyQueue::new();
        q.queue("z", 0, &[]);
        q.queue("y", 1, &[]);
        q.queue("x", 0, &[]);
        q.seal();
        let order: Vec<_> = std::iter::from_fn(|| q.dequeue()).collect();
        assert_eq!(order, ["z", "x", "y"]);
    }
}

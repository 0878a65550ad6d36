use std::collections::HashSet;

use gbb_stack::{BuilderBase, CoreInput, Definition, ImageId, Kind, Reference, Stack};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::{
    BuildPlan, BuilderBuildsIn, BuilderStep, CoreRef, CoreStep, DependencyQueue, ImageBuildsIn,
    ImageStep, Link, PlanError, Reason, Request, Step, StepId,
};

/// A node of the walk: definitions are numbered as in [`Stack::definitions`], cores after them.
/// Numbers instead of ids keep the walk to vector lookups: on a 10,000-image stack, hashing ids
/// was most of the planning time.
type NodeIx = usize;

/// A step as found by the walk, before ordering.
struct Node {
    step: Step,
    /// Everything it needs, whether or not it ends up in the plan.
    deps: Vec<NodeIx>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    InProgress,
    Done,
}

struct Resolver<'s> {
    stack: &'s Stack,
    nodes: Vec<Option<Node>>,
    marks: Vec<Option<Mark>>,
    /// Cores by input, so that builders sharing a stage3 and tree share a core, with their
    /// node number and label.
    cores: FxHashMap<&'s CoreInput, (NodeIx, String)>,
    /// The builder name that starts each image's chain of kept states (`bob` for an image built
    /// in `ns/bob`, and for every descendant built in its state).
    root_builder: Vec<Option<&'s ImageId>>,
    /// Builder ids, to catch a kept state named like an existing builder.
    builder_ids: FxHashSet<&'s str>,
    /// By definition: whether an image of the stack builds in its kept state.
    state_needed: Vec<bool>,
    /// `-e`: not visited; what needs them takes them as built.
    excluded: FxHashSet<NodeIx>,
    /// `-n`: the requested ids; nothing else is visited.
    only: Option<FxHashSet<NodeIx>>,
}

impl BuildPlan {
    /// Plans `request` on `stack`.
    pub fn new(stack: &Stack, request: &Request) -> Result<Self, PlanError> {
        let requested = select(stack, &request.ids, Selecting::Request)?;
        let excluded: FxHashSet<NodeIx> = select(stack, &request.exclude, Selecting::Exclude)?
            .into_iter()
            .collect();
        let requested: Vec<NodeIx> = requested
            .into_iter()
            .filter(|ix| !excluded.contains(ix))
            .collect();
        let definitions = stack.definitions();
        let mut resolver = Resolver {
            stack,
            nodes: Vec::new(),
            marks: Vec::new(),
            cores: FxHashMap::default(),
            root_builder: vec![None; definitions.len()],
            builder_ids: definitions
                .iter()
                .filter(|d| d.kind == Kind::Builder)
                .map(|d| d.id.as_str())
                .collect(),
            state_needed: states_needed(stack),
            excluded,
            only: request
                .only_given
                .then(|| requested.iter().copied().collect()),
        };
        resolver.name_cores();
        let total = definitions.len() + resolver.cores.len();
        resolver.nodes.resize_with(total, || None);
        resolver.marks.resize(total, None);

        let mut path = Vec::new();
        for &ix in &requested {
            resolver.visit(ix, None, Reason::Requested, &mut path)?;
        }
        // A requested id keeps "requested" as its reason even when something else reached it
        // first.
        for &ix in &requested {
            if let Some(node) = &mut resolver.nodes[ix] {
                *node.step.reason_mut() = Reason::Requested;
            }
        }

        // Order: Kahn's algorithm, ready steps by (kind, id). Needs on steps that were not
        // visited (excluded, or beyond `-n`) are taken as built.
        let mut visited: Vec<NodeIx> = (0..total)
            .filter(|&ix| resolver.nodes[ix].is_some())
            .collect();
        visited.sort_by(|&a, &b| {
            let (a, b) = (&resolver.nodes[a], &resolver.nodes[b]);
            let (a, b) = (
                &a.as_ref().expect("visited").step,
                &b.as_ref().expect("visited").step,
            );
            (a.kind(), a.id()).cmp(&(b.kind(), b.id()))
        });
        let mut rank = vec![usize::MAX; total];
        for (position, &ix) in visited.iter().enumerate() {
            rank[ix] = position;
        }
        let mut queue = DependencyQueue::new();
        for &ix in &visited {
            let node = resolver.nodes[ix].as_mut().expect("visited");
            node.deps.retain(|&d| rank[d] != usize::MAX);
            node.deps.sort_unstable();
            node.deps.dedup();
            queue.queue(ix, rank[ix], &node.deps);
        }
        queue.seal();
        let mut order = Vec::with_capacity(visited.len());
        while let Some(ix) = queue.dequeue() {
            queue.finish(&ix);
            order.push(ix);
        }
        debug_assert_eq!(order.len(), visited.len(), "the walk refuses cycles");
        let mut position = vec![usize::MAX; total];
        for (at, &ix) in order.iter().enumerate() {
            position[ix] = at;
        }
        let mut steps = Vec::with_capacity(order.len());
        for ix in order {
            let node = resolver.nodes[ix].take().expect("visited");
            let mut step = node.step;
            let needs = step.needs_mut();
            *needs = node.deps.iter().map(|&d| position[d]).collect();
            needs.sort_unstable();
            steps.push(step);
        }
        Ok(Self { steps })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Selecting {
    /// What to build: nothing named means everything; a namespace means its images.
    Request,
    /// What to leave out: nothing named means nothing; a namespace means all of it.
    Exclude,
}

/// The definitions named by `ids` (ids or namespaces), as positions in the stack.
fn select(stack: &Stack, ids: &[String], selecting: Selecting) -> Result<Vec<NodeIx>, PlanError> {
    let definitions = stack.definitions();
    if ids.is_empty() {
        return Ok(if selecting == Selecting::Request {
            (0..definitions.len()).collect()
        } else {
            Vec::new()
        });
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for given in ids {
        let trimmed = given.trim_end_matches('/');
        if let Some(ix) = trimmed
            .parse::<ImageId>()
            .ok()
            .and_then(|id| stack.position(&id))
        {
            if seen.insert(ix) {
                out.push(ix);
            }
        } else if !trimmed.contains('/') && stack.namespace(trimmed).is_some() {
            let in_namespace: Vec<NodeIx> = (0..definitions.len())
                .filter(|&ix| definitions[ix].id.namespace() == trimmed)
                .collect();
            let images: Vec<NodeIx> = in_namespace
                .iter()
                .copied()
                .filter(|&ix| definitions[ix].is_image())
                .collect();
            // A namespace with only builders stands for its builders.
            let chosen = if images.is_empty() || selecting == Selecting::Exclude {
                in_namespace
            } else {
                images
            };
            for ix in chosen {
                if seen.insert(ix) {
                    out.push(ix);
                }
            }
        } else {
            return Err(PlanError::UnknownId {
                given: given.clone(),
                suggestion: closest(stack, given, true),
            });
        }
    }
    Ok(out)
}

/// The known id (or namespace) closest to `given`, if one is close enough to be a typo.
fn closest(stack: &Stack, given: &str, namespaces: bool) -> Option<String> {
    let candidates = stack
        .definitions()
        .iter()
        .map(|d| d.id.as_str().to_owned())
        .chain(
            namespaces
                .then(|| stack.namespaces.iter().map(|n| n.name.clone()))
                .into_iter()
                .flatten(),
        );
    candidates
        .map(|c| (strsim::damerau_levenshtein(given, &c), c))
        .filter(|(distance, c)| *distance <= 2.max(c.len() / 5))
        .min()
        .map(|(_, c)| c)
}

impl<'s> Resolver<'s> {
    /// Gives every distinct core input a node number and a label, adding `-2`, `-3`, ... when
    /// two different inputs (say, the same stage3 with two portage trees) would share one.
    fn name_cores(&mut self) {
        let stack: &'s Stack = self.stack;
        let mut used: FxHashMap<String, usize> = FxHashMap::default();
        let mut next = stack.definitions().len();
        for definition in stack.definitions() {
            if let BuilderBase::Core { input, .. } = &definition.base {
                if self.cores.contains_key(input) {
                    continue;
                }
                let base = input.stage3.label();
                let count = used.entry(base.clone()).or_insert(0);
                *count += 1;
                let label = if *count == 1 {
                    base
                } else {
                    format!("{base}-{count}")
                };
                self.cores.insert(input, (next, label));
                next += 1;
            }
        }
    }

    fn definition(&self, ix: NodeIx) -> &'s Definition {
        let stack: &'s Stack = self.stack;
        &stack.definitions()[ix]
    }

    fn step_id(&self, ix: NodeIx) -> StepId {
        StepId::Definition(self.definition(ix).id.clone())
    }

    /// Visits `ix`, reached from the end of `path` through `via`, and everything it needs.
    fn visit(
        &mut self,
        ix: NodeIx,
        via: Option<(&'static str, gbb_config::Origin)>,
        reason: Reason,
        path: &mut Vec<Link>,
    ) -> Result<(), PlanError> {
        match self.marks[ix] {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::InProgress) => {
                let id = self.step_id(ix);
                let start = path.iter().position(|l| l.id == id).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(Link { id, via });
                return Err(PlanError::Cycle { cycle });
            }
            None => {}
        }
        self.marks[ix] = Some(Mark::InProgress);
        path.push(Link {
            id: self.step_id(ix),
            via,
        });
        let definition = self.definition(ix);
        let node = match definition.kind {
            Kind::Image => self.image(ix, definition, reason, path)?,
            Kind::Builder => self.builder(ix, definition, reason, path)?,
        };
        path.pop();
        self.marks[ix] = Some(Mark::Done);
        self.nodes[ix] = Some(node);
        Ok(())
    }

    /// Follows `reference` from the step at the end of `path`, checking that it names a
    /// definition of the `expected` kind. Returns its node number.
    fn follow(
        &mut self,
        reference: &Reference,
        expected: Kind,
        reason: Reason,
        path: &mut Vec<Link>,
    ) -> Result<NodeIx, PlanError> {
        let what = match expected {
            Kind::Image => "parent image",
            Kind::Builder => "builder",
        };
        let Some(target) = self.stack.position(&reference.id) else {
            return Err(PlanError::UnknownReference {
                what,
                missing: reference.id.clone(),
                variable: reference.variable,
                origin: reference.origin.clone(),
                chain: path.clone(),
                suggestion: closest(self.stack, reference.id.as_str(), false),
            });
        };
        let kind = self.definition(target).kind;
        if kind != expected {
            let article = |k| {
                if k == Kind::Image {
                    "an image"
                } else {
                    "a builder"
                }
            };
            return Err(PlanError::WrongKind {
                variable: reference.variable,
                target: reference.id.clone(),
                expected: article(expected),
                actual: article(kind),
                origin: reference.origin.clone(),
                chain: path.clone(),
            });
        }
        let pruned = self.excluded.contains(&target)
            || self
                .only
                .as_ref()
                .is_some_and(|only| !only.contains(&target));
        if !pruned {
            self.visit(
                target,
                Some((reference.variable, reference.origin.clone())),
                reason,
                path,
            )?;
        }
        Ok(target)
    }

    fn image(
        &mut self,
        ix: NodeIx,
        definition: &'s Definition,
        reason: Reason,
        path: &mut Vec<Link>,
    ) -> Result<Node, PlanError> {
        let me = StepId::Definition(definition.id.clone());
        let mut deps = Vec::with_capacity(2);
        let mut parent_ix = None;
        if let Some(parent) = &definition.parent {
            let target = self.follow(parent, Kind::Image, Reason::ParentOf(me.clone()), path)?;
            deps.push(target);
            parent_ix = Some(target);
        }
        let builds_in = if let Some(builder) = &definition.builder {
            deps.push(self.follow(builder, Kind::Builder, Reason::BuilderOf(me.clone()), path)?);
            self.root_builder[ix] = Some(&builder.id);
            ImageBuildsIn::Builder(builder.id.clone())
        } else if let (Some(parent), Some(parent_ix)) = (&definition.parent, parent_ix) {
            // A parent pruned by `-n` or `-e` was not visited: follow its chain in the stack.
            let root = match self.root_builder[parent_ix] {
                Some(root) => Some(root),
                None => self.chain_root(self.definition(parent_ix)),
            };
            self.root_builder[ix] = root;
            ImageBuildsIn::ParentState {
                parent: parent.id.clone(),
                state: state_repository(&parent.id, root),
            }
        } else if let Some(builder) = &definition.default_builder {
            deps.push(self.follow(builder, Kind::Builder, Reason::BuilderOf(me.clone()), path)?);
            self.root_builder[ix] = Some(&builder.id);
            ImageBuildsIn::Builder(builder.id.clone())
        } else {
            return Err(PlanError::NoBuilder {
                image: definition.id.clone(),
                chain: path.clone(),
            });
        };
        let root = self.root_builder[ix];
        let state = state_repository(&definition.id, root);
        if self.builder_ids.contains(state.as_str()) {
            return Err(PlanError::StateNameClash {
                image: definition.id.clone(),
                state,
            });
        }
        Ok(Node {
            step: Step::Image(ImageStep {
                id: me,
                definition: ix,
                parent: definition.parent.as_ref().map(|p| p.id.clone()),
                ancestors: self.ancestors(definition),
                builds_in,
                state,
                keeps_state: self.state_needed[ix],
                root_builder: root.cloned(),
                core: self.chain_core(definition),
                reason,
                needs: Vec::new(),
            }),
            deps,
        })
    }

    fn builder(
        &mut self,
        ix: NodeIx,
        definition: &'s Definition,
        reason: Reason,
        path: &mut Vec<Link>,
    ) -> Result<Node, PlanError> {
        let me = StepId::Definition(definition.id.clone());
        let (dep, builds_in) = match &definition.base {
            BuilderBase::Core { input, .. } => {
                let (core_ix, label) = self.cores[input].clone();
                let core = CoreRef {
                    label,
                    input: input.clone(),
                };
                if self.nodes[core_ix].is_none() && self.only.is_none() {
                    self.nodes[core_ix] = Some(Node {
                        step: Step::Core(CoreStep {
                            id: core.step_id(),
                            core: core.clone(),
                            reason: Reason::CoreOf(me.clone()),
                            needs: Vec::new(),
                        }),
                        deps: Vec::new(),
                    });
                }
                (core_ix, BuilderBuildsIn::Core(core))
            }
            BuilderBase::Builder(reference) => {
                let target = self.follow(
                    reference,
                    Kind::Builder,
                    Reason::BuilderOf(me.clone()),
                    path,
                )?;
                (target, BuilderBuildsIn::Builder(reference.id.clone()))
            }
            BuilderBase::Missing | BuilderBase::NotABuilder => {
                return Err(PlanError::NoBuilderBase {
                    builder: definition.id.clone(),
                    conf: definition.dir.join("build.conf"),
                    chain: path.clone(),
                });
            }
        };
        Ok(Node {
            step: Step::Builder(BuilderStep {
                id: me,
                builder: definition.id.clone(),
                definition: ix,
                builds_in,
                core: self.chain_core(definition),
                reason,
                needs: Vec::new(),
            }),
            deps: vec![dep],
        })
    }

    /// The builder an image's chain of kept states starts in, found in the stack as the walk
    /// finds it: its own `BUILDER`, else its parent's root, else `DEFAULT_BUILDER`. For images
    /// the walk did not visit (`-n`, `-e`).
    fn chain_root(&self, definition: &'s Definition) -> Option<&'s ImageId> {
        let mut current = definition;
        for _ in 0..=self.stack.definitions().len() {
            match (&current.builder, &current.parent, &current.default_builder) {
                (Some(builder), _, _) => return Some(&builder.id),
                (None, Some(parent), _) => current = self.stack.get(&parent.id)?,
                (None, None, Some(builder)) => return Some(&builder.id),
                (None, None, None) => return None,
            }
        }
        None
    }

    /// The core a definition's chain starts from: through its builder (or its parent's, for
    /// an image in its parent's state) down to a builder made from a stage3.
    fn chain_core(&self, definition: &'s Definition) -> Option<CoreRef> {
        let mut current = definition;
        for _ in 0..=self.stack.definitions().len() {
            let next = match current.kind {
                Kind::Builder => match &current.base {
                    BuilderBase::Core { input, .. } => {
                        return self.cores.get(input).map(|(_, label)| CoreRef {
                            label: label.clone(),
                            input: input.clone(),
                        });
                    }
                    BuilderBase::Builder(reference) => &reference.id,
                    BuilderBase::Missing | BuilderBase::NotABuilder => return None,
                },
                Kind::Image => {
                    match (&current.builder, &current.parent, &current.default_builder) {
                        (Some(builder), _, _) => &builder.id,
                        (None, Some(parent), _) => &parent.id,
                        (None, None, Some(builder)) => &builder.id,
                        (None, None, None) => return None,
                    }
                }
            };
            current = self.stack.get(next)?;
        }
        None
    }

    /// An image's parent, grandparent, ...: nearest first.
    fn ancestors(&self, definition: &'s Definition) -> Vec<ImageId> {
        let mut out = Vec::new();
        let mut next = definition.parent.as_ref();
        while let Some(parent) = next {
            // A cycle is refused by the walk; the bound keeps a broken stack from looping here.
            if out.len() > self.stack.definitions().len() {
                break;
            }
            out.push(parent.id.clone());
            next = self.stack.get(&parent.id).and_then(|d| d.parent.as_ref());
        }
        out
    }
}

/// By position in [`Stack::definitions`]: whether an image of the whole stack builds in that
/// image's kept state (see [`ImageStep::keeps_state`]): a child image with no `BUILDER` of its
/// own. A child whose parent is unknown or not an image is refused by the walk, not here.
fn states_needed(stack: &Stack) -> Vec<bool> {
    let mut needed = vec![false; stack.definitions().len()];
    for definition in stack.definitions() {
        if definition.kind != Kind::Image || definition.builder.is_some() {
            continue;
        }
        if let Some(parent) = definition
            .parent
            .as_ref()
            .and_then(|parent| stack.position(&parent.id))
        {
            needed[parent] = true;
        }
    }
    needed
}

/// The repository of the builder state an image's phase 1 leaves: `ns/<root builder>-<name>`
/// (`bob` when the chain has no builder). Made here because the planner must refuse a state
/// named like an existing builder; `gbb_build::names` turns it into the tags gbb uses.
pub fn state_repository(image: &ImageId, root_builder: Option<&ImageId>) -> String {
    format!(
        "{}/{}-{}",
        image.namespace(),
        root_builder.map_or("bob", ImageId::name),
        image.name()
    )
}

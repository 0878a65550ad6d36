use std::collections::{HashMap, HashSet};

use gbb_stack::{BuilderBase, CoreInput, Definition, ImageId, Kind, Reference, Stack};

use crate::{
    BuildPlan, BuildsIn, DependencyQueue, Link, Parent, PlanError, Reason, Request, Step, StepId,
    StepKind,
};

/// A step as found by the walk, before filtering and ordering.
struct Node {
    step: Step,
    /// Everything it needs, whether or not it ends up in the plan.
    deps: Vec<StepId>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    InProgress,
    Done,
}

struct Resolver<'s> {
    stack: &'s Stack,
    /// Definition index by id, to fill `Step::definition`.
    positions: HashMap<&'s ImageId, usize>,
    nodes: HashMap<StepId, Node>,
    marks: HashMap<StepId, Mark>,
    /// Core ids by input, so that builders sharing a stage3 and tree share a core.
    cores: HashMap<CoreInput, String>,
    /// The builder name that starts each image's chain of kept states (`bob` for an image built
    /// in `ns/bob`, and for every descendant built in its state).
    root_builder: HashMap<ImageId, String>,
    /// `-e`: not visited; what needs them takes them as built.
    excluded: HashSet<ImageId>,
    /// `-n`: the requested ids; nothing else is visited.
    only: Option<HashSet<ImageId>>,
}

impl BuildPlan {
    /// Plans `request` on `stack`.
    pub fn new(stack: &Stack, request: &Request) -> Result<Self, PlanError> {
        let requested = select(stack, &request.ids, Selecting::Request)?;
        let excluded: HashSet<ImageId> = select(stack, &request.exclude, Selecting::Exclude)?
            .into_iter()
            .collect();
        let requested: Vec<ImageId> = requested
            .into_iter()
            .filter(|id| !excluded.contains(id))
            .collect();
        let mut resolver = Resolver {
            stack,
            positions: stack
                .definitions()
                .iter()
                .enumerate()
                .map(|(i, d)| (&d.id, i))
                .collect(),
            nodes: HashMap::new(),
            marks: HashMap::new(),
            cores: HashMap::new(),
            root_builder: HashMap::new(),
            excluded,
            only: request
                .only_given
                .then(|| requested.iter().cloned().collect()),
        };
        resolver.name_cores();
        let mut path = Vec::new();
        for id in &requested {
            resolver.visit(
                StepId::Definition(id.clone()),
                None,
                Reason::Requested,
                &mut path,
            )?;
        }
        let requested: HashSet<StepId> = requested.into_iter().map(StepId::Definition).collect();
        // A requested id keeps "requested" as its reason even when something else reached it
        // first.
        for id in &requested {
            if let Some(node) = resolver.nodes.get_mut(id) {
                node.step.reason = Reason::Requested;
            }
        }
        // Needs on steps that were not visited (excluded, or beyond `-n`) are taken as built.
        let visited: HashSet<StepId> = resolver.nodes.keys().cloned().collect();
        let mut queue = DependencyQueue::new();
        let mut kept: HashMap<StepId, Step> = HashMap::new();
        for (id, node) in resolver.nodes {
            let mut step = node.step;
            step.needs = node
                .deps
                .into_iter()
                .filter(|d| visited.contains(d))
                .collect();
            step.needs.sort();
            queue.queue(id.clone(), (step.kind, id.clone()), &step.needs);
            kept.insert(id, step);
        }
        queue.seal();
        let mut steps = Vec::with_capacity(kept.len());
        while let Some(id) = queue.dequeue() {
            queue.finish(&id);
            steps.extend(kept.remove(&id));
        }
        debug_assert!(
            kept.is_empty(),
            "the walk refuses cycles, so ordering takes every step"
        );
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

/// The definitions named by `ids` (ids or namespaces).
fn select(stack: &Stack, ids: &[String], selecting: Selecting) -> Result<Vec<ImageId>, PlanError> {
    if ids.is_empty() {
        return Ok(if selecting == Selecting::Request {
            stack.definitions().iter().map(|d| d.id.clone()).collect()
        } else {
            Vec::new()
        });
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for given in ids {
        let given_trimmed = given.trim_end_matches('/');
        if let Some(definition) = stack.get_str(given_trimmed) {
            if seen.insert(definition.id.clone()) {
                out.push(definition.id.clone());
            }
        } else if !given_trimmed.contains('/') && stack.namespace(given_trimmed).is_some() {
            let in_namespace = |d: &&Definition| d.id.namespace() == given_trimmed;
            let images: Vec<_> = stack
                .definitions()
                .iter()
                .filter(in_namespace)
                .filter(|d| d.is_image())
                .collect();
            // A namespace with only builders stands for its builders.
            let chosen = if images.is_empty() || selecting == Selecting::Exclude {
                stack.definitions().iter().filter(in_namespace).collect()
            } else {
                images
            };
            for definition in chosen {
                if seen.insert(definition.id.clone()) {
                    out.push(definition.id.clone());
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
    /// Gives every distinct core input a label, adding `-2`, `-3`, ... when two different
    /// inputs (say, the same stage3 with two portage trees) would share one.
    fn name_cores(&mut self) {
        let mut used: HashMap<String, usize> = HashMap::new();
        for definition in self.stack.definitions() {
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
                self.cores.insert(input.clone(), label);
            }
        }
    }

    fn definition(&self, id: &ImageId) -> Option<(usize, &'s Definition)> {
        let &i = self.positions.get(id)?;
        let stack: &'s Stack = self.stack;
        Some((i, &stack.definitions()[i]))
    }

    /// Visits `id`, reached from the end of `path` through `via`, and everything it needs.
    fn visit(
        &mut self,
        id: StepId,
        via: Option<(&'static str, gbb_config::Origin)>,
        reason: Reason,
        path: &mut Vec<Link>,
    ) -> Result<(), PlanError> {
        match self.marks.get(&id) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::InProgress) => {
                let start = path.iter().position(|l| l.id == id).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(Link { id, via });
                return Err(PlanError::Cycle { cycle });
            }
            None => {}
        }
        self.marks.insert(id.clone(), Mark::InProgress);
        path.push(Link {
            id: id.clone(),
            via,
        });
        let node = match &id {
            StepId::Core(_) => unreachable!("cores are created by the builders that need them"),
            StepId::Definition(image_id) => {
                let (index, definition) = self.definition(image_id).expect("visited ids exist");
                match definition.kind {
                    Kind::Image => self.image(index, definition, reason, path)?,
                    Kind::Builder => self.builder(index, definition, reason, path)?,
                }
            }
        };
        path.pop();
        self.marks.insert(id.clone(), Mark::Done);
        self.nodes.insert(id, node);
        Ok(())
    }

    /// Follows `reference` from the step at the end of `path`, checking that it names a
    /// definition of the `expected` kind.
    fn follow(
        &mut self,
        reference: &Reference,
        expected: Kind,
        reason: Reason,
        path: &mut Vec<Link>,
    ) -> Result<(), PlanError> {
        let what = match expected {
            Kind::Image => "parent image",
            Kind::Builder => "builder",
        };
        let Some((_, target)) = self.definition(&reference.id) else {
            return Err(PlanError::UnknownReference {
                what,
                missing: reference.id.clone(),
                variable: reference.variable,
                origin: reference.origin.clone(),
                chain: path.clone(),
                suggestion: closest(self.stack, reference.id.as_str(), false),
            });
        };
        if target.kind != expected {
            return Err(PlanError::WrongKind {
                variable: reference.variable,
                target: reference.id.clone(),
                expected: if expected == Kind::Image {
                    "an image"
                } else {
                    "a builder"
                },
                actual: if target.kind == Kind::Image {
                    "an image"
                } else {
                    "a builder"
                },
                origin: reference.origin.clone(),
                chain: path.clone(),
            });
        }
        if self.excluded.contains(&reference.id)
            || self
                .only
                .as_ref()
                .is_some_and(|only| !only.contains(&reference.id))
        {
            return Ok(());
        }
        self.visit(
            StepId::Definition(reference.id.clone()),
            Some((reference.variable, reference.origin.clone())),
            reason,
            path,
        )
    }

    fn image(
        &mut self,
        index: usize,
        definition: &Definition,
        reason: Reason,
        path: &mut Vec<Link>,
    ) -> Result<Node, PlanError> {
        let me = StepId::Definition(definition.id.clone());
        let mut deps = Vec::new();
        if let Some(parent) = &definition.parent {
            self.follow(parent, Kind::Image, Reason::ParentOf(me.clone()), path)?;
            deps.push(StepId::Definition(parent.id.clone()));
        }
        let builds_in = if let Some(builder) = &definition.builder {
            self.follow(builder, Kind::Builder, Reason::BuilderOf(me.clone()), path)?;
            deps.push(StepId::Definition(builder.id.clone()));
            self.root_builder
                .insert(definition.id.clone(), builder.id.name().to_owned());
            BuildsIn::Builder(builder.id.clone())
        } else if let Some(parent) = &definition.parent {
            let root = self
                .root_builder
                .get(&parent.id)
                .cloned()
                .unwrap_or_else(|| "bob".to_owned());
            let state = format!("{}/{}-{}", parent.id.namespace(), root, parent.id.name());
            self.root_builder.insert(definition.id.clone(), root);
            BuildsIn::ParentState {
                parent: parent.id.clone(),
                state,
            }
        } else if let Some(builder) = &definition.default_builder {
            self.follow(builder, Kind::Builder, Reason::BuilderOf(me.clone()), path)?;
            deps.push(StepId::Definition(builder.id.clone()));
            self.root_builder
                .insert(definition.id.clone(), builder.id.name().to_owned());
            BuildsIn::Builder(builder.id.clone())
        } else {
            return Err(PlanError::NoBuilder {
                image: definition.id.clone(),
                chain: path.clone(),
            });
        };
        let root = &self.root_builder[&definition.id];
        let state_name = format!(
            "{}/{}-{}",
            definition.id.namespace(),
            root,
            definition.id.name()
        );
        if let Some(clash) = self
            .stack
            .get_str(&state_name)
            .filter(|d| d.kind == Kind::Builder)
        {
            return Err(PlanError::StateNameClash {
                image: definition.id.clone(),
                state: clash.id.to_string(),
            });
        }
        deps.dedup();
        Ok(Node {
            step: Step {
                kind: StepKind::Image,
                id: me,
                definition: Some(index),
                core: None,
                parent: Some(match &definition.parent {
                    Some(p) => Parent::Step(StepId::Definition(p.id.clone())),
                    None => Parent::Scratch,
                }),
                builds_in: Some(builds_in),
                needs: Vec::new(),
                reason,
                state_name: Some(state_name),
            },
            deps,
        })
    }

    fn builder(
        &mut self,
        index: usize,
        definition: &Definition,
        reason: Reason,
        path: &mut Vec<Link>,
    ) -> Result<Node, PlanError> {
        let me = StepId::Definition(definition.id.clone());
        let (dep, builds_in) = match &definition.base {
            BuilderBase::Core { input, .. } => {
                let core = StepId::Core(self.cores[input].clone());
                if !self.nodes.contains_key(&core) && self.only.is_none() {
                    self.nodes.insert(
                        core.clone(),
                        Node {
                            step: Step {
                                kind: StepKind::Core,
                                id: core.clone(),
                                definition: None,
                                core: Some(input.clone()),
                                parent: None,
                                builds_in: None,
                                needs: Vec::new(),
                                reason: Reason::CoreOf(me.clone()),
                                state_name: None,
                            },
                            deps: Vec::new(),
                        },
                    );
                }
                (core.clone(), BuildsIn::Core(core))
            }
            BuilderBase::Builder(reference) => {
                self.follow(
                    reference,
                    Kind::Builder,
                    Reason::BuilderOf(me.clone()),
                    path,
                )?;
                (
                    StepId::Definition(reference.id.clone()),
                    BuildsIn::Builder(reference.id.clone()),
                )
            }
            BuilderBase::Missing => {
                return Err(PlanError::NoBuilderBase {
                    builder: definition.id.clone(),
                    conf: definition.dir.join("build.conf"),
                    chain: path.clone(),
                });
            }
        };
        Ok(Node {
            step: Step {
                kind: StepKind::Builder,
                id: me,
                definition: Some(index),
                core: None,
                parent: Some(Parent::Step(dep.clone())),
                builds_in: Some(builds_in),
                needs: Vec::new(),
                reason,
                state_name: None,
            },
            deps: vec![dep],
        })
    }
}

//! Renders a plan's dependency graph for people (text) and tools (dot, mermaid, json).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;

use crate::{BuildPlan, Parent, StepId, StepKind};

/// `gbb graph --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    /// A tree per root (scratch, each core), children indented under their parent.
    Text,
    /// Graphviz.
    Dot,
    /// Mermaid flowchart, for Markdown.
    Mermaid,
    /// `{"nodes": [...], "edges": [...]}`.
    Json,
}

/// An edge from what is needed to what needs it.
struct Edge<'a> {
    from: StepId,
    to: &'a StepId,
    /// `parent` (built on) or `builder` (runs in).
    kind: &'static str,
}

fn edges(plan: &BuildPlan) -> Vec<Edge<'_>> {
    let present: HashSet<&StepId> = plan.steps.iter().map(|s| s.id()).collect();
    let mut out = Vec::new();
    for step in &plan.steps {
        if let Some(Parent::Step(parent)) = step.parent()
            && present.contains(&parent)
        {
            let kind = if step.kind() == StepKind::Image {
                "parent"
            } else {
                "builder"
            };
            out.push(Edge {
                from: parent,
                to: step.id(),
                kind,
            });
        }
        if let Some(builder) = step.image_builder() {
            let from = StepId::Definition(builder.clone());
            if present.contains(&from) {
                out.push(Edge {
                    from,
                    to: step.id(),
                    kind: "builder",
                });
            }
        }
    }
    out
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Renders `plan` as `format`.
pub fn render_graph(plan: &BuildPlan, format: GraphFormat) -> String {
    match format {
        GraphFormat::Text => text(plan),
        GraphFormat::Dot => dot(plan),
        GraphFormat::Mermaid => mermaid(plan),
        GraphFormat::Json => json(plan),
    }
}

fn dot(plan: &BuildPlan) -> String {
    let mut out = String::from("digraph gbb {\n  rankdir=LR;\n  node [shape=box];\n");
    for step in &plan.steps {
        let shape = match step.kind() {
            StepKind::Core => "shape=cylinder",
            StepKind::Builder => "style=rounded",
            StepKind::Image => "style=solid",
        };
        let _ = writeln!(out, "  {} [{shape}];", quote(&step.id().to_string()));
    }
    for edge in edges(plan) {
        let style = if edge.kind == "parent" {
            ""
        } else {
            " [style=dashed]"
        };
        let _ = writeln!(
            out,
            "  {} -> {}{style};",
            quote(&edge.from.to_string()),
            quote(&edge.to.to_string())
        );
    }
    out.push_str("}\n");
    out
}

fn mermaid(plan: &BuildPlan) -> String {
    let mut out = String::from("graph LR\n");
    let index: BTreeMap<&StepId, usize> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id(), i))
        .collect();
    for (i, step) in plan.steps.iter().enumerate() {
        let label = step.id().to_string().replace('"', "#quot;");
        let node = match step.kind() {
            StepKind::Core => format!("n{i}[(\"{label}\")]"),
            StepKind::Builder => format!("n{i}([\"{label}\"])"),
            StepKind::Image => format!("n{i}[\"{label}\"]"),
        };
        let _ = writeln!(out, "  {node}");
    }
    for edge in edges(plan) {
        let arrow = if edge.kind == "parent" { "-->" } else { "-.->" };
        let _ = writeln!(out, "  n{} {arrow} n{}", index[&edge.from], index[edge.to]);
    }
    out
}

fn json(plan: &BuildPlan) -> String {
    let nodes: Vec<_> = plan
        .steps
        .iter()
        .map(|s| serde_json::json!({ "id": s.id().to_string(), "kind": s.kind().as_str() }))
        .collect();
    let edges: Vec<_> = edges(plan)
        .iter()
        .map(|e| serde_json::json!({ "from": e.from.to_string(), "to": e.to.to_string(), "kind": e.kind }))
        .collect();
    let mut out =
        serde_json::to_string_pretty(&serde_json::json!({ "nodes": nodes, "edges": edges }))
            .expect("plain JSON values serialize");
    out.push('\n');
    out
}

/// Trees: images under their parent (from `scratch`), builders under the builder or core they
/// extend. An image that runs in a named builder says so after its id.
fn text(plan: &BuildPlan) -> String {
    let present: HashSet<&StepId> = plan.steps.iter().map(|s| s.id()).collect();
    let parents: Vec<Option<Parent>> = plan.steps.iter().map(|s| s.parent()).collect();
    let mut children: BTreeMap<Option<&StepId>, Vec<usize>> = BTreeMap::new();
    let mut roots_scratch = Vec::new();
    for (i, parent) in parents.iter().enumerate() {
        match parent {
            Some(Parent::Step(parent)) if present.contains(parent) => {
                children.entry(Some(parent)).or_default().push(i);
            }
            Some(Parent::Scratch) => roots_scratch.push(i),
            // Cores, and steps whose parent is not in the plan (`-n`, `-e`): roots.
            _ => children.entry(None).or_default().push(i),
        }
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| plan.steps[*a].id().cmp(plan.steps[*b].id()));
    }
    roots_scratch.sort_by(|a, b| plan.steps[*a].id().cmp(plan.steps[*b].id()));

    let mut out = String::new();
    let label = |i: usize| {
        let step = &plan.steps[i];
        let mut label = step.id().to_string();
        if let Some(builder) = step.image_builder() {
            let _ = write!(label, "  (builder {builder})");
        }
        if let Some(Parent::Step(parent)) = &parents[i]
            && !present.contains(parent)
        {
            let _ = write!(label, "  (on {parent}, not in this plan)");
        }
        label
    };
    fn walk(
        out: &mut String,
        plan: &BuildPlan,
        children: &BTreeMap<Option<&StepId>, Vec<usize>>,
        label: &dyn Fn(usize) -> String,
        i: usize,
        prefix: &str,
        last: bool,
    ) {
        let _ = writeln!(
            out,
            "{prefix}{}{}",
            if last { "└── " } else { "├── " },
            label(i)
        );
        let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
        if let Some(kids) = children.get(&Some(plan.steps[i].id())) {
            for (k, &child) in kids.iter().enumerate() {
                walk(
                    out,
                    plan,
                    children,
                    label,
                    child,
                    &deeper,
                    k + 1 == kids.len(),
                );
            }
        }
    }
    let roots = children.get(&None).cloned().unwrap_or_default();
    let (mut cores, others): (Vec<usize>, Vec<usize>) = roots
        .into_iter()
        .partition(|&i| plan.steps[i].kind() == StepKind::Core);
    cores.sort_by(|a, b| plan.steps[*a].id().cmp(plan.steps[*b].id()));
    for i in cores.into_iter().chain(others) {
        let _ = writeln!(out, "{}", label(i));
        if let Some(kids) = children.get(&Some(plan.steps[i].id())) {
            for (k, &child) in kids.iter().enumerate() {
                walk(
                    &mut out,
                    plan,
                    &children,
                    &label,
                    child,
                    "",
                    k + 1 == kids.len(),
                );
            }
        }
    }
    if !roots_scratch.is_empty() {
        out.push_str("scratch\n");
        for (k, &i) in roots_scratch.iter().enumerate() {
            walk(
                &mut out,
                plan,
                &children,
                &label,
                i,
                "",
                k + 1 == roots_scratch.len(),
            );
        }
    }
    out
}

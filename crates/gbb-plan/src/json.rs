//! The plan as JSON (`gbb plan --json`): a stable, documented shape for scripts and CI.
//!
//! ```json
//! {"stack": "...", "layout": "seed", "steps": [
//!   {"kind": "image", "id": "ns/app", "parent": "ns/lib", "builder": "ns/bob-lib",
//!    "builds_in": "state", "needs": ["ns/lib"], "reason": "requested", ...}]}
//! ```
//!
//! Every step has `kind`, `id`, `parent` and `builder` (`null` for cores; `"scratch"` as the
//! parent of images built from nothing), `builds_in` (`core`, `builder` or `state`), `needs`
//! (ids of earlier steps) and `reason`. Images and builders add `path`, `tag`, `packages`
//! and `hooks`; images add `state` (the kept builder state they leave); cores add `stage3` and
//! `portage`.

use gbb_stack::{PortageTree, Stack, Stage3};
use serde_json::{Value, json};

use crate::{BuildPlan, StepKind};

impl BuildPlan {
    /// The plan as a JSON value.
    pub fn to_json(&self, stack: &Stack) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|step| {
                let mut value = json!({
                    "kind": step.kind.as_str(),
                    "id": step.id.to_string(),
                    "parent": step.parent.as_ref().map(ToString::to_string),
                    "builder": step.builds_in.as_ref().map(|b| b.image_name()),
                    "builds_in": step.builds_in.as_ref().map(|b| b.kind_str()),
                    "needs": step.needs.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "reason": step.reason.to_string(),
                });
                let object = value.as_object_mut().expect("a JSON object");
                if let Some(definition) = step.definition.map(|i| &stack.definitions()[i]) {
                    object.insert("path".into(), json!(definition.dir.display().to_string()));
                    object.insert("tag".into(), json!(definition.tag));
                    object.insert("packages".into(), json!(definition.script.packages));
                    object.insert(
                        "hooks".into(),
                        json!(
                            definition
                                .script
                                .hooks
                                .iter()
                                .map(|h| h.as_str())
                                .collect::<Vec<_>>()
                        ),
                    );
                }
                if step.kind == StepKind::Image {
                    object.insert("state".into(), json!(step.state_name));
                }
                if let Some(core) = &step.core {
                    let stage3 = match &core.stage3 {
                        Stage3::File { path } => json!({ "file": path.display().to_string() }),
                        Stage3::Release { base, date, arch } => {
                            json!({ "base": base, "date": date, "arch": arch })
                        }
                    };
                    let portage = match &core.portage {
                        PortageTree::Dir { path } => json!({ "dir": path.display().to_string() }),
                        PortageTree::Snapshot { url, date } => json!({ "url": url, "date": date }),
                    };
                    object.insert("stage3".into(), stage3);
                    object.insert("portage".into(), portage);
                }
                value
            })
            .collect();
        json!({
            "stack": if stack.root.as_os_str().is_empty() { ".".to_owned() } else { stack.root.display().to_string() },
            "layout": stack.layout.as_str(),
            "steps": steps,
        })
    }
}

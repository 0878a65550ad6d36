//! Canonical JSON: the same value always gives the same bytes, so the same image gives the
//! same digest.
//!
//! oci-spec keeps labels, annotations, ports and volumes in `HashMap`s, whose order changes
//! from run to run. Going through a `serde_json::Value` and sorting every object's keys fixes
//! the order whatever the types (and whether or not another crate turns on serde_json's
//! `preserve_order`). Output is compact, as Docker and the registries write it.

use serde::Serialize;

/// `value` as compact JSON with every object's keys in byte order.
pub(crate) fn to_canonical_json(value: &impl Serialize) -> serde_json::Result<Vec<u8>> {
    let value = serde_json::to_value(value)?;
    value_to_canonical_json(value)
}

/// A JSON value as compact JSON with every object's keys in byte order.
pub(crate) fn value_to_canonical_json(mut value: serde_json::Value) -> serde_json::Result<Vec<u8>> {
    value.sort_all_objects();
    serde_json::to_vec(&value)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn keys_are_sorted_at_every_depth() {
        let mut inner = HashMap::new();
        for key in ["z", "a", "m", "b"] {
            inner.insert(key, 1);
        }
        let value = serde_json::json!({ "b": inner, "a": [ { "y": 1, "x": 2 } ] });
        let text = String::from_utf8(to_canonical_json(&value).unwrap()).unwrap();
        assert_eq!(
            text,
            r#"{"a":[{"x":2,"y":1}],"b":{"a":1,"b":1,"m":1,"z":1}}"#
        );
    }
}

//! Properties that must hold for every input: the reader never panics, and values quoted the way
//! a tool (such as `gbb update` or `gbb add`) would write them read back unchanged.

use std::path::Path;

use gbb_config::{Config, Environment, parse};
use proptest::prelude::*;

fn read(source: &str) -> Result<Config, gbb_config::ConfigError> {
    let path = Path::new("p.conf");
    let script = parse(path, source)?;
    Config::new().eval(path, source, &script, &Environment::empty())
}

/// Text built from the characters that matter to the grammar, so that random inputs reach deep
/// into quoting and expansion instead of failing on the first byte.
fn shellish() -> impl Strategy<Value = String> {
    let atoms = prop_oneof![
        Just("A".to_owned()),
        Just("B_1".to_owned()),
        Just("=".to_owned()),
        Just("+=".to_owned()),
        Just("$".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("@".to_owned()),
        Just("*".to_owned()),
        Just(":".to_owned()),
        Just("-".to_owned()),
        Just("?".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("\n".to_owned()),
        Just(" ".to_owned()),
        Just("#".to_owned()),
        Just(";".to_owned()),
        Just("~".to_owned()),
        Just("`".to_owned()),
        Just("é".to_owned()),
        Just("0".to_owned()),
        Just("12".to_owned()),
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn never_panics_on_shellish_text(source in shellish()) {
        let _ = read(&source);
    }

    #[test]
    fn never_panics_on_any_text(source in any::<String>()) {
        let _ = read(&source);
    }

    #[test]
    fn errors_point_inside_the_file(source in shellish()) {
        if let Err(e) = read(&source) {
            let lines = source.split('\n').count() as u32;
            prop_assert!(e.position.line >= 1 && e.position.line <= lines, "{e}");
            prop_assert!(e.position.column >= 1, "{e}");
        }
    }

    #[test]
    fn single_quoted_values_round_trip(value in any::<String>()) {
        let source = format!("A='{}'", value.replace('\'', r"'\''"));
        let config = read(&source).unwrap();
        prop_assert_eq!(config.value("A"), Some(value.as_str()));
    }

    #[test]
    fn double_quoted_values_round_trip(value in any::<String>()) {
        let mut quoted = String::new();
        for c in value.chars() {
            if matches!(c, '$' | '`' | '"' | '\\') {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        let config = read(&format!("A=\"{quoted}\"")).unwrap();
        prop_assert_eq!(config.value("A"), Some(value.as_str()));
    }
}

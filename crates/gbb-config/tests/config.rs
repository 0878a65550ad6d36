//! The config reader against the bash behaviour it imitates. Each expected value below was
//! checked against bash 5.2 (`bash -c 'source f; declare -p NAME'`).

use std::path::Path;

use gbb_config::{Config, Environment, ErrorKind, Value, parse};

fn eval_with(source: &str, env: &Environment) -> Result<Config, gbb_config::ConfigError> {
    let path = Path::new("test.conf");
    let script = parse(path, source)?;
    Config::new().eval(path, source, &script, env)
}

fn eval(source: &str) -> Config {
    let env = Environment::empty()
        .with("HOME", "/home/u")
        .with("FROM_ENV", "env value");
    match eval_with(source, &env) {
        Ok(config) => config,
        Err(e) => panic!("unexpected error for {source:?}:\n{e}"),
    }
}

#[track_caller]
fn scalar(source: &str, name: &str, expected: &str) {
    let config = eval(source);
    let var = config
        .get(name)
        .unwrap_or_else(|| panic!("{name} unset for {source:?}"));
    assert_eq!(
        var.value,
        Value::Scalar(expected.to_owned()),
        "source: {source:?}"
    );
}

#[track_caller]
fn array(source: &str, name: &str, expected: &[&str]) {
    let config = eval(source);
    let var = config
        .get(name)
        .unwrap_or_else(|| panic!("{name} unset for {source:?}"));
    let expected = Value::Array(expected.iter().map(|s| (*s).to_owned()).collect());
    assert_eq!(var.value, expected, "source: {source:?}");
}

#[track_caller]
fn error(source: &str, line: u32, column: u32, kind: ErrorKind) {
    let err = eval_with(source, &Environment::empty()).expect_err(source);
    assert_eq!(err.kind, kind, "source: {source:?}\n{err}");
    assert_eq!(
        (err.position.line, err.position.column),
        (line, column),
        "source: {source:?}\n{err}"
    );
}

#[test]
fn plain_values() {
    scalar("A=1", "A", "1");
    scalar("A=", "A", "");
    scalar("A=a#b", "A", "a#b");
    scalar("A=1 # comment", "A", "1");
    scalar("A=1;B=2", "B", "2");
    scalar("A=1 B=2", "B", "2");
    scalar("  A=x\t", "A", "x");
    scalar("A=héllo", "A", "héllo");
    scalar("A=a\\ b", "A", "a b");
    scalar("A=x\r\n", "A", "x");
}

#[test]
fn quoting() {
    scalar("A='a b $X \\ \"'", "A", "a b $X \\ \"");
    scalar(r#"A="a \"b\" \\ \$X \z""#, "A", r#"a "b" \ $X \z"#);
    scalar(r#"A="it's""#, "A", "it's");
    scalar(r#"A='a'"b"c"#, "A", "abc");
    scalar("A=\"multi\nline\"", "A", "multi\nline");
    scalar(r"A=$'a\tb\n'", "A", "a\tb\n");
    scalar("A=\"cost $ 5\"", "A", "cost $ 5");
    scalar("A=$", "A", "$");
    scalar(r#"A="""#, "A", "");
}

#[test]
fn continuations() {
    scalar("A=a\\\nb", "A", "ab");
    scalar("A=\"a \\\nb\"", "A", "a b");
    scalar("A='a \\\nb'", "A", "a \\\nb");
    scalar("A=1 \\\n  B=2", "B", "2");
}

#[test]
fn expansions() {
    scalar("X=1\nA=$X", "A", "1");
    scalar("X=1\nA=${X}2", "A", "12");
    scalar("X=1\nA=\"$X-${X}\"", "A", "1-1");
    scalar("A=$UNSET", "A", "");
    scalar("A=${FROM_ENV}", "A", "env value");
    scalar("A=${UNSET:-def}", "A", "def");
    scalar("X=\nA=${X:-def}", "A", "def");
    scalar("X=\nA=${X-def}", "A", "");
    scalar("A=${UNSET-def}", "A", "def");
    scalar("X=v\nA=${X:+alt}", "A", "alt");
    scalar("X=\nA=${X:+alt}", "A", "");
    scalar("X=\nA=${X+alt}", "A", "alt");
    scalar("A=${UNSET:=set}\nB=$UNSET", "B", "set");
    scalar("A=\"${UNSET:-a b ${FROM_ENV}}\"", "A", "a b env value");
    scalar("A=${UNSET:-\"q }\"}", "A", "q }");
    scalar("A=\"${UNSET:-'x'}\"", "A", "'x'");
    scalar("A=${UNSET:-'x y'}", "A", "x y");
    scalar("A=${UNSET:--O2 -pipe}", "A", "-O2 -pipe");
    scalar("A=~/x", "A", "/home/u/x");
    scalar("A=\"~/x\"", "A", "~/x");
    scalar("A=${FROM_ENV:0:3}", "A", "env");
    scalar("A=${FROM_ENV:4}", "A", "value");
    scalar("A=${FROM_ENV: -5}", "A", "value");
    scalar("A=${FROM_ENV:N}", "A", "env value");
    scalar("A=${UNSET:emerge}", "A", "");
}

#[test]
fn environment_is_the_fallback() {
    let env = Environment::empty().with("IMAGE_TAG", "2026");
    let config = eval_with("IMAGE_TAG=\"${IMAGE_TAG:-20250101}\"", &env).unwrap();
    assert_eq!(config.value("IMAGE_TAG"), Some("2026"));
    let config = eval_with(
        "IMAGE_TAG=\"${IMAGE_TAG:-20250101}\"",
        &Environment::empty(),
    )
    .unwrap();
    assert_eq!(config.value("IMAGE_TAG"), Some("20250101"));
}

#[test]
fn origins_name_the_environment_variable_read() {
    let env = Environment::empty()
        .with("BOB_X", "from env")
        .with("IMAGE_TAG", "2026");
    let config = eval_with(
        "BOB_X=\"${BOB_X:-default}\"\nIMAGE_TAG=fixed\nY=\"$BOB_X\"\nZ=\"${BOB_Z:-z}\"",
        &env,
    )
    .unwrap();
    let environment = |name: &str| config.get(name).unwrap().origin.environment.clone();
    assert_eq!(environment("BOB_X").as_deref(), Some("BOB_X"));
    // Assigned without reading the environment, though the environment has the name.
    assert_eq!(environment("IMAGE_TAG"), None);
    // Read from an earlier assignment, not from the environment.
    assert_eq!(environment("Y"), None);
    assert_eq!(environment("Z"), None);

    // `+=` after a line that read the environment: the earlier read is not this line's.
    let env = Environment::empty().with("HOME", "/root");
    let config = eval_with("A=\"${HOME}\"\nB+=x", &env).unwrap();
    let environment = |name: &str| config.get(name).unwrap().origin.environment.clone();
    assert_eq!(environment("A").as_deref(), Some("HOME"));
    assert_eq!(environment("B"), None);
}

#[test]
fn declarations() {
    scalar("export A=1", "A", "1");
    scalar("export A=1 B=2", "B", "2");
    scalar("export A\nA=3", "A", "3");
    scalar("declare -x A=1", "A", "1");
    scalar("readonly A=1", "A", "1");
    array("declare -a A=( 1 2 )", "A", &["1", "2"]);
    scalar("A+=x", "A", "x");
    scalar("A=a\nA+=b", "A", "ab");
}

#[test]
fn arrays() {
    array("A=()", "A", &[]);
    array("A=( a \"b c\" 'd' )", "A", &["a", "b c", "d"]);
    array("A=(\n  a # comment\n  b\n)", "A", &["a", "b"]);
    array("A=( \"\" x )", "A", &["", "x"]);
    array("X='1 2'\nA=( $X )", "A", &["1", "2"]);
    array("X='1 2'\nA=( \"$X\" )", "A", &["1 2"]);
    array("A=( $UNSET x )", "A", &["x"]);
    array("A=( a b )\nB=( \"${A[@]}\" c )", "B", &["a", "b", "c"]);
    array("A=( a b )\nB=( \"${A[*]}\" c )", "B", &["a b", "c"]);
    array("A=( a b )\nA+=( c )", "A", &["a", "b", "c"]);
    array("A=( a b )\nA=z", "A", &["z", "b"]);
    array("A=(a)\nB=( x${A[@]}y )", "B", &["xay"]);
    array("A=( \"--cap-add\" 'FOO' )", "A", &["--cap-add", "FOO"]);
    scalar("A=( a b )\nB=$A", "B", "a");
    scalar("A=( a b )\nB=${A[1]}", "B", "b");
    scalar("A=( a b )\nB=\"${A[@]}\"", "B", "a b");
}

#[test]
fn origins() {
    let config = eval("# c\n\nA=1\n  export B=2\n");
    let a = config.get("A").unwrap();
    assert_eq!((a.origin.position.line, a.origin.position.column), (3, 1));
    let b = config.get("B").unwrap();
    assert_eq!((b.origin.position.line, b.origin.position.column), (4, 10));
}

#[test]
fn layers_and_latest_of() {
    let env = Environment::empty();
    let path = Path::new("g.conf");
    let src = "CONTAINER_ENGINE=docker\nX=global";
    let global = Config::new()
        .eval(path, src, &parse(path, src).unwrap(), &env)
        .unwrap();
    let ns = global.with_preset("NAMESPACE", "ns", Path::new("ns"));
    let src = "BUILD_ENGINE=podman\nY=\"$X/$NAMESPACE\"";
    let image = ns
        .eval(
            Path::new("i.conf"),
            src,
            &parse(Path::new("i.conf"), src).unwrap(),
            &env,
        )
        .unwrap();
    assert_eq!(image.value("Y"), Some("global/ns"));
    let (name, var) = image
        .latest_of(&["CONTAINER_ENGINE", "BUILD_ENGINE"])
        .unwrap();
    assert_eq!((name, var.value.as_str()), ("BUILD_ENGINE", "podman"));
    assert!(image.assigned_in_last_layer("Y"));
    assert!(!image.assigned_in_last_layer("X"));
    assert_eq!(
        image.vars().keys().copied().collect::<Vec<_>>(),
        ["BUILD_ENGINE", "CONTAINER_ENGINE", "NAMESPACE", "X", "Y"]
    );
}

#[test]
fn refusals() {
    use ErrorKind::*;
    error(
        "echo hi",
        1,
        1,
        Command {
            word: "echo".into(),
        },
    );
    error(
        "A=1\nsource other.conf",
        2,
        1,
        Command {
            word: "source".into(),
        },
    );
    error(
        "A=1 make",
        1,
        5,
        Command {
            word: "make".into(),
        },
    );
    error("foo() { :; }", 1, 1, Function { name: "foo".into() });
    error("function foo {\n}", 1, 1, Function { name: "foo".into() });
    error(
        "if true; then A=1; fi",
        1,
        1,
        ControlFlow {
            keyword: "if".into(),
        },
    );
    error(
        "[[ -n x ]] && A=1",
        1,
        1,
        ControlFlow {
            keyword: "[[".into(),
        },
    );
    error("A=$(date)", 1, 3, CommandSubstitution);
    error("A=\"x `date`\"", 1, 6, CommandSubstitution);
    error("A=$((1+2))", 1, 3, Arithmetic);
    error(
        "A=1 | cat",
        1,
        5,
        Operator {
            operator: "|".into(),
        },
    );
    error(
        "A=1 && B=2",
        1,
        5,
        Operator {
            operator: "&&".into(),
        },
    );
    error(
        "A=1 > f",
        1,
        5,
        Operator {
            operator: ">".into(),
        },
    );
    error(
        "A=$1",
        1,
        3,
        SpecialParameter {
            parameter: "1".into(),
        },
    );
    error(
        "A=\"$@\"",
        1,
        4,
        SpecialParameter {
            parameter: "@".into(),
        },
    );
    error(
        "A=${#B}",
        1,
        3,
        UnsupportedExpansion {
            text: "${#B}".into(),
        },
    );
    error(
        "A=${B%%/*}",
        1,
        3,
        UnsupportedExpansion {
            text: "${B%%/*}".into(),
        },
    );
    error(
        "A=${B/x/y}",
        1,
        3,
        UnsupportedExpansion {
            text: "${B/x/y}".into(),
        },
    );
    error(
        "A=${!B}",
        1,
        3,
        UnsupportedExpansion {
            text: "${!B}".into(),
        },
    );
    error(
        "A=${B:?must be set}",
        1,
        3,
        ParameterError {
            name: "B".into(),
            message: "must be set".into(),
        },
    );
    error("A[1]=x", 1, 1, ElementAssignment { name: "A".into() });
    error(
        "A='open",
        1,
        3,
        Unterminated {
            what: "single quote",
        },
    );
    error(
        "A=\"open\nB=1",
        1,
        3,
        Unterminated {
            what: "double quote",
        },
    );
    error(
        "A=( a b",
        1,
        3,
        Unterminated {
            what: "array (missing `)`)",
        },
    );
    error(
        "A=${B",
        1,
        3,
        Unterminated {
            what: "parameter expansion (missing `}`)",
        },
    );
    error(
        "A=${B:-x",
        1,
        3,
        Unterminated {
            what: "parameter expansion (missing `}`)",
        },
    );
    error(
        "local A=1",
        1,
        1,
        UnsupportedBuiltin {
            text: "local".into(),
        },
    );
    error(
        "declare -f foo",
        1,
        9,
        UnsupportedBuiltin {
            text: "declare -f".into(),
        },
    );
    error(
        "A=x(y)",
        1,
        4,
        Unexpected {
            found: "(".into(),
            expected: "the end of the value (quote it)",
        },
    );
    error("A=${B:x-y}", 1, 3, BadSubstring { text: "x-y".into() });
}

#[test]
fn error_display_points_at_the_column() {
    let err = eval_with("A=1\nB=\"$(date)\"\n", &Environment::empty()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "test.conf:2:4: command substitution (`$(...)` or backticks) is not supported in config files\n  |\n2 | B=\"$(date)\"\n  |    ^"
    );
}

/// Issue 9, item 6: a value that doubles on every line stops at the limit, at the line that
/// crosses it, instead of growing until the process dies.
#[test]
fn doubling_values_stop_at_the_limit() {
    let mut source = String::from("A=x\n");
    for _ in 0..40 {
        source.push_str("A=\"$A$A\"\n");
    }
    let error = eval_with(&source, &Environment::empty()).unwrap_err();
    // 2^20 bytes is the limit itself; line 22 makes 2^21.
    assert_eq!((error.position.line, error.position.column), (22, 1));
    assert_eq!(
        error.kind,
        ErrorKind::ValueTooLarge {
            name: "A".to_owned(),
            limit: gbb_config::MAX_VALUE_BYTES
        }
    );
    assert!(
        error
            .to_string()
            .starts_with("test.conf:22:1: the value of `A` grows past 1 MiB"),
        "{error}"
    );

    // Arrays and appends are counted too.
    let mut source = String::from("A=( xxxxxxxx )\n");
    for _ in 0..40 {
        source.push_str("A=( \"${A[@]}\" \"${A[@]}\" )\n");
    }
    let error = eval_with(&source, &Environment::empty()).unwrap_err();
    assert!(
        matches!(error.kind, ErrorKind::ValueTooLarge { .. }),
        "{error}"
    );
    let mut source = String::from("A=xxxxxxxxxxxxxxxx\n");
    for _ in 0..20 {
        source.push_str("B=\"$A\"\nA+=\"$B\"\n");
    }
    let error = eval_with(&source, &Environment::empty()).unwrap_err();
    assert!(
        matches!(error.kind, ErrorKind::ValueTooLarge { .. }),
        "{error}"
    );

    // Right at the limit is fine.
    let mut source = String::from("A=x\n");
    for _ in 0..20 {
        source.push_str("A=\"$A$A\"\n");
    }
    let config = eval_with(&source, &Environment::empty()).unwrap();
    assert_eq!(
        config.value("A").unwrap().len(),
        gbb_config::MAX_VALUE_BYTES
    );
}

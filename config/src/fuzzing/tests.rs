//! The `config` fuzz target as property tests on stable, and the replay of its corpus
//! (`fuzz/corpus/config/`): arbitrary text, and the shipped configurations with random values
//! put under their own keys, load or are refused with a syntax error or a list of problems.

use std::path::PathBuf;

use proptest::prelude::*;
use toml::{Table, Value};

use super::*;

fn corpus() -> Vec<(PathBuf, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/config");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let text = String::from_utf8_lossy(&std::fs::read(&path).expect("corpus file")).into();
            (path, text)
        })
        .collect();
    files.sort();
    files
}

/// The configurations the project ships, which the structured properties start from.
fn seeds() -> Vec<Table> {
    [
        crate::DEFAULT_CONFIG,
        include_str!("../../examples/full.toml"),
        include_str!("../../examples/twilio.toml"),
    ]
    .iter()
    .map(|text| toml::from_str(text).expect("a shipped config is TOML"))
    .collect()
}

#[test]
fn config_corpus_replays() {
    let files = corpus();
    assert!(files.len() >= 3, "the example seeds are missing");
    for (path, text) in files {
        eprintln!("{}", path.display());
        config(text.as_bytes());
    }
}

/// The seeds load as they are: the properties below mutate configs that are valid to start with.
#[test]
fn seeds_load() {
    for seed in seeds() {
        let text = toml::to_string(&seed).expect("serializes");
        if let Err(e) = load_str(&text, &env) {
            panic!("a shipped config fails to load:\n{e}");
        }
    }
}

/// Where a value sits in a document: keys and array indexes.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// Every path in `table`, to tables and arrays as well as to leaves.
fn paths(table: &Table) -> Vec<Vec<Step>> {
    fn walk(value: &Value, at: Vec<Step>, out: &mut Vec<Vec<Step>>) {
        match value {
            Value::Table(t) => {
                for (k, v) in t {
                    let mut next = at.clone();
                    next.push(Step::Key(k.clone()));
                    out.push(next.clone());
                    walk(v, next, out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    let mut next = at.clone();
                    next.push(Step::Index(i));
                    out.push(next.clone());
                    walk(v, next, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&Value::Table(table.clone()), Vec::new(), &mut out);
    out
}

fn slot<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(value);
    };
    let next = match (value, first) {
        (Value::Table(t), Step::Key(k)) => t.get_mut(k)?,
        (Value::Array(a), Step::Index(i)) => a.get_mut(*i)?,
        _ => return None,
    };
    slot(next, rest)
}

/// Values an operator could write under any key: wrong types, empty and huge strings, durations
/// and sizes out of range, extreme numbers.
fn toml_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        ".{0,24}".prop_map(Value::String),
        Just(Value::String(String::new())),
        prop_oneof![
            Just("0s"),
            Just("1ms"),
            Just("-5m"),
            Just("18446744073709551615s"),
            Just("9999999999999h"),
            Just("1.5s"),
            Just("http://"),
            Just("https://[::1]:0/x"),
            Just("0.0.0.0/0"),
            Just("::/0"),
            Just("*"),
            Just("redis://:@/"),
            Just("sms"),
            Just("push"),
            Just("otp"),
            Just("push_with_pin"),
            Just("console"),
            Just("twilio"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
        "[0-9]{1,6}(s|m|h|ms|d)".prop_map(Value::String),
        any::<i64>().prop_map(Value::Integer),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(i64::MAX),
            Just(i64::MIN),
            Just(65536)
        ]
        .prop_map(Value::Integer),
        any::<f64>().prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
        Just(Value::Datetime(
            "1979-05-27T07:32:00Z".parse().expect("datetime")
        )),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Table(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Edit {
    Set(usize, Value),
    Remove(usize),
    /// Repeat an array item `n` times (many gateways, many clients).
    Repeat(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        6 => (any::<usize>(), toml_value()).prop_map(|(at, v)| Edit::Set(at, v)),
        2 => any::<usize>().prop_map(Edit::Remove),
        1 => (any::<usize>(), 2..50usize).prop_map(|(at, n)| Edit::Repeat(at, n)),
    ]
}

fn apply(mut doc: Value, edits: &[Edit]) -> Value {
    for e in edits {
        let Value::Table(table) = &doc else { break };
        let all = paths(table);
        if all.is_empty() {
            break;
        }
        let at = match e {
            Edit::Set(at, _) | Edit::Remove(at) | Edit::Repeat(at, _) => *at,
        };
        let path = &all[at % all.len()];
        let Some((last, parent)) = path.split_last() else {
            continue;
        };
        let Some(parent) = slot(&mut doc, parent) else {
            continue;
        };
        match (e, parent, last) {
            (Edit::Set(_, v), Value::Table(t), Step::Key(k)) => {
                t.insert(k.clone(), v.clone());
            }
            (Edit::Set(_, v), Value::Array(a), Step::Index(i)) => a[*i] = v.clone(),
            (Edit::Remove(_), Value::Table(t), Step::Key(k)) => {
                t.remove(k);
            }
            (Edit::Remove(_), Value::Array(a), Step::Index(i)) => {
                a.remove(*i);
            }
            (Edit::Repeat(_, n), Value::Array(a), Step::Index(i)) => {
                let item = a[*i].clone();
                a.extend(std::iter::repeat_n(item, *n));
            }
            _ => {}
        }
    }
    doc
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary bytes as a config file.
    #[test]
    fn arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
        config(&data);
    }

    /// Text made of TOML's own punctuation, keys and values.
    #[test]
    fn toml_like_text(text in "([a-z_]{1,10}|\\[|\\]|\\[\\[|\\]\\]|=|\"|'|,|\\{|\\}|\\.|[0-9]{1,4}|\n| ){0,60}") {
        config(text.as_bytes());
    }

    /// The shipped configs with random values put under their own keys, keys removed, list
    /// items repeated.
    #[test]
    fn shipped_configs_with_random_values(
        seed in 0..3usize,
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        let doc = apply(Value::Table(seeds()[seed].clone()), &edits);
        if let Ok(text) = toml::to_string(&doc) {
            config(text.as_bytes());
        }
    }

    /// The shipped configs' text, cut short anywhere.
    #[test]
    fn shipped_configs_cut_short(seed in 0..3usize, at in any::<usize>()) {
        let text = toml::to_string(&seeds()[seed]).expect("serializes");
        // Cut anywhere, even inside a character: the harness reads bytes.
        config(&text.as_bytes()[..at % (text.len() + 1)]);
    }
}

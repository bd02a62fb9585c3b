//! The README's metric table and the catalogue (`tessera_engine::telemetry::CATALOGUE`) say the
//! same: every metric has a row with its type and exactly its labels, and the table names no
//! `tessera_` metric the catalogue lacks.
//!
//! A row is `` | `name` | counter | `label`: values; `label` | what | ``: the backticked words of
//! the labels cell are the label names (values are plain text), `—` for none.

use std::collections::BTreeMap;

use tessera_engine::telemetry::{CATALOGUE, Kind};

/// The section of the README that holds the table.
const SECTION: &str = "## Observability and deployment";

fn readme() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The backticked words of `text`.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// One table row: name, type, label names.
#[derive(Debug, PartialEq)]
struct Row {
    kind: String,
    labels: Vec<String>,
}

/// The rows of the metric table in the README's observability section, by metric name; a name
/// given twice is an error.
fn table(readme: &str) -> Result<BTreeMap<String, Row>, String> {
    let section = readme
        .split_once(SECTION)
        .map(|(_, rest)| rest.split("\n## ").next().unwrap_or(rest))
        .ok_or_else(|| format!("no `{SECTION}` section"))?;
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `tessera_")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [name, kind, labels, ..] = cells.as_slice() else {
            return Err(format!("not a metric row: {line}"));
        };
        let name = name.trim_matches('`').to_owned();
        let row = Row {
            kind: kind.to_string(),
            labels: backticked(labels).into_iter().map(str::to_owned).collect(),
        };
        if rows.insert(name.clone(), row).is_some() {
            return Err(format!("`{name}` has two rows"));
        }
    }
    Ok(rows)
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
    }
}

/// Every disagreement between `rows` and the catalogue.
fn disagreements(rows: &BTreeMap<String, Row>) -> Vec<String> {
    let mut found = Vec::new();
    for m in CATALOGUE {
        let Some(row) = rows.get(m.name) else {
            found.push(format!("`{}` has no row", m.name));
            continue;
        };
        if row.kind != kind_name(m.kind) {
            found.push(format!(
                "`{}` is a {}, the table says {}",
                m.name,
                kind_name(m.kind),
                row.kind
            ));
        }
        let want: Vec<String> = m.labels.iter().map(|l| l.to_string()).collect();
        if row.labels != want {
            found.push(format!(
                "`{}` has labels {want:?}, the table lists {:?}",
                m.name, row.labels
            ));
        }
    }
    for name in rows.keys() {
        if !CATALOGUE.iter().any(|m| m.name == name) {
            found.push(format!("the table names `{name}`, not in the catalogue"));
        }
    }
    found
}

#[test]
fn the_readme_lists_every_metric_of_the_catalogue_with_its_type_and_labels() {
    let rows = table(&readme()).unwrap_or_else(|e| panic!("README: {e}"));
    let found = disagreements(&rows);
    assert!(
        found.is_empty(),
        "README metric table vs telemetry::CATALOGUE:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_tessera_name_in_the_section_is_a_catalogued_metric() {
    let readme = readme();
    let section = readme.split_once(SECTION).map_or("", |(_, rest)| rest);
    let section = section.split("\n## ").next().unwrap_or(section);
    let series_suffixes = ["_bucket", "_sum", "_count"];
    let unknown: Vec<&str> = section
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("tessera_"))
        .filter(|w| {
            let base = series_suffixes
                .iter()
                .find_map(|s| w.strip_suffix(s))
                .unwrap_or(w);
            !CATALOGUE.iter().any(|m| m.name == *w || m.name == base)
        })
        .collect();
    assert!(unknown.is_empty(), "not in the catalogue: {unknown:?}");
}

#[test]
fn a_table_that_drifts_from_the_catalogue_is_caught() {
    let m = &CATALOGUE[1];
    let good = format!(
        "{SECTION}\n\n| metric | type | labels | what |\n|---|---|---|---|\n| `{}` | {} | {} | x |\n\n## Next\n",
        m.name,
        kind_name(m.kind),
        m.labels
            .iter()
            .map(|l| format!("`{l}`: a, b"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let rows = table(&good).unwrap();
    assert_eq!(rows[m.name].labels, m.labels);
    // Only this metric is listed: every other one is reported missing, none for this one.
    let found = disagreements(&rows);
    assert_eq!(found.len(), CATALOGUE.len() - 1, "{found:?}");
    assert!(!found.iter().any(|f| f.contains(m.name)), "{found:?}");

    let dropped_label = good.replacen(&format!("`{}`: a, b", m.labels[0]), "", 1);
    let found = disagreements(&table(&dropped_label).unwrap());
    assert!(
        found
            .iter()
            .any(|f| f.contains(m.name) && f.contains("labels")),
        "{found:?}"
    );

    let wrong_kind = good.replacen(" | counter | ", " | gauge | ", 1);
    let found = disagreements(&table(&wrong_kind).unwrap());
    assert!(
        found.iter().any(|f| f.contains("the table says gauge")),
        "{found:?}"
    );

    let extra = good.replacen(
        "\n\n## Next",
        "\n| `tessera_made_up_total` | counter | — | x |\n\n## Next",
        1,
    );
    let found = disagreements(&table(&extra).unwrap());
    assert!(
        found.iter().any(|f| f.contains("tessera_made_up_total")),
        "{found:?}"
    );

    let twice = good.replacen(
        "\n\n## Next",
        &format!("\n| `{}` | counter | — | x |\n\n## Next", m.name),
        1,
    );
    assert!(table(&twice).is_err());
}

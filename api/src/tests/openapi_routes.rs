//! `api/openapi.yaml` and the router cannot drift apart: the (method, path) pairs the document
//! declares are exactly those `routes.rs` (and `admin/mod.rs` for the configuration resources)
//! serve, and on every documented path the methods the document lists are served while every
//! other method answers `405` with an `Allow` header naming exactly the documented ones.
//!
//! The router's side is read from its source with `syn`: each arm of `dispatch`'s `match` is a
//! (method, area, path segments) pattern, so a new arm is a new route whether or not anyone
//! remembered the document. An arm this reader does not understand fails the test rather than
//! being skipped. Path parameters compare by position only (`{id}` = `{transaction_id}`).

use std::collections::{BTreeMap, BTreeSet};

use http::Method;
use syn::{Arm, Expr, Item, Lit, Pat, Stmt};

use crate::OPENAPI_YAML;
use crate::test_util::*;

/// (method, path with every parameter written `{}`).
type Route = (String, String);

const METHODS: [&str; 4] = ["get", "put", "post", "delete"];

/// The document's operations, `$ref`'d path items resolved.
fn documented() -> BTreeSet<Route> {
    let lines: Vec<&str> = OPENAPI_YAML.lines().collect();
    let methods_at = |start: usize, indent: usize| -> Vec<String> {
        let pad = " ".repeat(indent);
        lines[start + 1..]
            .iter()
            .take_while(|l| l.trim().is_empty() || l.starts_with(&pad))
            .filter_map(|l| {
                let key = l.strip_prefix(&pad)?.strip_suffix(':')?;
                METHODS.contains(&key).then(|| key.to_owned())
            })
            .collect()
    };
    // Shared path items under `components: pathItems:` (their methods four levels deeper).
    let mut items = BTreeMap::new();
    if let Some(at) = lines.iter().position(|l| *l == "  pathItems:") {
        for (i, l) in lines.iter().enumerate().skip(at + 1) {
            if !l.starts_with("    ") && !l.trim().is_empty() {
                break;
            }
            if let Some(name) = l.strip_prefix("    ").and_then(|n| n.strip_suffix(':'))
                && !name.starts_with(' ')
            {
                items.insert(name.to_owned(), methods_at(i, 6));
            }
        }
    }
    let start = lines.iter().position(|l| *l == "paths:").expect("paths:");
    let mut out = BTreeSet::new();
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        if !l.starts_with(' ') && !l.trim().is_empty() {
            break;
        }
        let Some(path) = l.strip_prefix("  /").and_then(|p| p.strip_suffix(':')) else {
            continue;
        };
        let path = format!("/{path}");
        let methods = match lines[i + 1]
            .trim()
            .strip_prefix("$ref: '#/components/pathItems/")
        {
            Some(name) => items
                .get(name.trim_end_matches('\''))
                .unwrap_or_else(|| panic!("{path}: unknown path item {name}"))
                .clone(),
            None => methods_at(i, 4),
        };
        assert!(!methods.is_empty(), "{path} declares no operation");
        for m in methods {
            out.insert((m, normalize(&path)));
        }
    }
    out
}

/// `{anything}` → `{}`.
fn normalize(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn source(file: &str) -> syn::File {
    let path = format!("{}/src/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    syn::parse_file(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The block of fn `name` in `file`.
fn body(file: &syn::File, name: &str) -> Vec<Stmt> {
    file.items
        .iter()
        .find_map(|item| match item {
            Item::Fn(f) if f.sig.ident == name => Some(f.block.stmts.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no fn {name}"))
}

/// The arms of the `match` a block ends with.
fn match_arms(stmts: &[Stmt]) -> Vec<Arm> {
    match stmts.last() {
        Some(Stmt::Expr(Expr::Match(m), _)) => m.arms.clone(),
        _ => panic!("the block does not end with a match"),
    }
}

fn ident(pat: &Pat) -> Option<String> {
    match pat {
        Pat::Ident(i) => Some(i.ident.to_string()),
        Pat::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// `&Method::GET` → `get`; `_` → `None` (an arm for every method: a refusal or a delegation).
fn method(pat: &Pat) -> Option<String> {
    match pat {
        Pat::Reference(r) => ident(&r.pat).map(|m| m.to_lowercase()),
        Pat::Wild(_) => None,
        other => panic!("method pattern {}", quote::quote!(#other)),
    }
}

/// The paths a slice pattern matches: literal segments, a binding for a parameter, and
/// `name @ ("a" | "b")` or `"a" | "b"` for alternatives. `None` for a `rest @ ..` (delegated).
fn paths(pat: &Pat) -> Option<Vec<String>> {
    let Pat::Slice(slice) = pat else {
        panic!("path pattern {}", quote::quote!(#pat));
    };
    let mut out = vec![String::new()];
    for elem in &slice.elems {
        let options: Vec<String> = match elem {
            Pat::Rest(_) => return None,
            Pat::Ident(i) if matches!(i.subpat.as_ref().map(|s| &*s.1), Some(Pat::Rest(_))) => {
                return None;
            }
            Pat::Ident(i) => match &i.subpat {
                Some((_, sub)) => literals(sub),
                None => vec!["{}".into()],
            },
            Pat::Wild(_) => vec!["{}".into()],
            other => literals(other),
        };
        out = out
            .iter()
            .flat_map(|p| options.iter().map(move |o| format!("{p}/{o}")))
            .collect();
    }
    Some(out)
}

fn literals(pat: &Pat) -> Vec<String> {
    match pat {
        Pat::Lit(l) => match &l.lit {
            Lit::Str(s) => vec![s.value()],
            other => panic!("segment {}", quote::quote!(#other)),
        },
        Pat::Or(or) => or.cases.iter().flat_map(literals).collect(),
        Pat::Paren(p) => literals(&p.pat),
        other => panic!("segment {}", quote::quote!(#other)),
    }
}

/// The prefixes an area pattern stands for: `Portal(v)` every portal version, `Users(V4)` one.
fn prefixes(pat: &Pat) -> Vec<String> {
    let (area, version) = match pat {
        Pat::TupleStruct(t) => (
            t.path.segments.last().expect("area").ident.to_string(),
            t.elems.first().and_then(ident),
        ),
        other => (ident(other).expect("area"), None),
    };
    // A lower-case binding is any version the area has (`split`: management has no v2).
    let versions = |all: &[&str]| -> Vec<String> {
        match &version {
            Some(v) if v.starts_with('V') => vec![v.to_lowercase()],
            _ => all.iter().map(|v| (*v).to_owned()).collect(),
        }
    };
    match area.as_str() {
        "Root" => vec![String::new()],
        "Device" => vec!["/device/v1".into()],
        "Portal" => versions(&["v2", "v3", "v4"])
            .into_iter()
            .map(|v| format!("/oauth/api/{v}/authenticate"))
            .collect(),
        "Users" => versions(&["v3", "v4"])
            .into_iter()
            .map(|v| format!("/oauth/api/{v}/users"))
            .collect(),
        other => panic!("area {other}"),
    }
}

/// Whether an arm's answer is a refusal (`UNMATCHED`, `"unmatched"` or a nested `match` that
/// only refuses): such arms serve no route.
fn refuses(arm: &Arm) -> bool {
    let text = quote::quote!(#arm).to_string();
    text.contains("method_not_allowed") || text.contains("not_found ()")
}

/// Every route `routes.rs` and the admin router serve.
fn served() -> BTreeSet<Route> {
    let mut out = BTreeSet::new();
    for arm in match_arms(&body(&source("routes.rs"), "dispatch")) {
        let Pat::Tuple(tuple) = &arm.pat else {
            assert!(refuses(&arm), "arm without a (method, area, path) pattern");
            continue;
        };
        let [m, area, segments] = [&tuple.elems[0], &tuple.elems[1], &tuple.elems[2]];
        let Some(m) = method(m) else {
            let delegated = quote::quote!(#arm).to_string().contains("admin :: route");
            assert!(
                delegated || refuses(&arm),
                "an arm for every method: {}",
                quote::quote!(#arm)
            );
            continue;
        };
        let paths = paths(segments).expect("a served arm names its whole path");
        for prefix in prefixes(area) {
            for p in &paths {
                out.insert((m.clone(), normalize(&format!("{prefix}{p}"))));
            }
        }
    }
    out.extend(admin_served());
    out
}

/// The configuration resources: each `collection!(.., "name")` is the four routes of one
/// collection (list; read, create or replace, delete one), then the arms of `route`'s `match`.
fn admin_served() -> BTreeSet<Route> {
    let stmts = body(&source("admin/mod.rs"), "route");
    let mut out = BTreeSet::new();
    for stmt in &stmts {
        let text = quote::quote!(#stmt).to_string();
        if let Some(rest) = text.split("collection ! (").nth(1) {
            let name = rest
                .split('"')
                .nth(1)
                .unwrap_or_else(|| panic!("collection without a name: {text}"));
            let base = format!("/admin/v1/{name}");
            out.insert(("get".into(), base.clone()));
            for m in ["get", "put", "delete"] {
                out.insert((m.into(), format!("{base}/{{}}")));
            }
        }
    }
    for arm in match_arms(&stmts) {
        let Pat::Tuple(tuple) = &arm.pat else {
            assert!(refuses(&arm), "admin arm without a (method, path) pattern");
            continue;
        };
        let Some(m) = method(&tuple.elems[0]) else {
            assert!(refuses(&arm), "an admin arm for every method");
            continue;
        };
        for p in paths(&tuple.elems[1]).expect("an admin arm names its path") {
            out.insert((m.clone(), normalize(&format!("/admin/v1{p}"))));
        }
    }
    out
}

#[test]
fn the_document_declares_exactly_the_routes_the_router_serves() {
    let documented = documented();
    let served = served();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not in openapi.yaml: {undocumented:#?}\nin openapi.yaml but not served: {unserved:#?}"
    );
    // The reader found the routes at all (96 operations as of this writing).
    assert!(served.len() > 90, "{served:#?}");
}

/// What the router does with each method on each documented path, sent through the API.
#[actix_rt::test]
async fn documented_methods_are_served_and_others_answer_405_with_allow() {
    let (api, _) = api();
    let mut by_path: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (m, p) in documented() {
        by_path.entry(p).or_default().push(m.to_uppercase());
    }
    let mut wrong = Vec::new();
    for (path, methods) in &by_path {
        let concrete = path.replace("{}", "x1");
        let allow: Vec<&str> = ["GET", "POST", "PUT", "DELETE"]
            .into_iter()
            .filter(|m| methods.iter().any(|d| d == m))
            .collect();
        for m in [
            "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "HEAD",
        ] {
            let method = Method::from_bytes(m.as_bytes()).unwrap();
            let a = Call::new(method, &concrete).send(&api).await;
            let refused = a.status == 405;
            if methods.iter().any(|d| d == m) {
                if refused {
                    wrong.push(format!("{m} {path}: 405, documented"));
                }
            } else if !refused {
                wrong.push(format!("{m} {path}: {}, not documented", a.status));
            } else {
                let got = a.header("allow").unwrap_or_default();
                let got: Vec<&str> = got.split(", ").collect();
                let mut sorted = got.clone();
                sorted
                    .sort_by_key(|m| ["GET", "POST", "PUT", "DELETE"].iter().position(|x| x == m));
                if sorted != allow {
                    wrong.push(format!("{m} {path}: Allow {got:?}, documented {allow:?}"));
                }
                assert_eq!(a.code(), "method_not_allowed");
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

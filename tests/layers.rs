//! Dependencies point one way (DESIGN.md "Layout"): the top-level modules of `src/` form no
//! cycle. The module tree is walked from `lib.rs` and `main.rs` as rustc walks it, each file read
//! with syn; `#[cfg(test)]` items and modules are left out (a unit test may reach up, as a
//! remedy's test runs the whole plan), and every `crate::<module>` or `pss_fix::<module>` path
//! in the rest is an edge from the module the file belongs to.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use syn::visit::Visit;

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn modules_form_no_cycle() {
    let graph = module_graph();
    // The walk must have seen the engine, or an empty graph would pass.
    for (from, to) in [("plan", "pss"), ("manifest", "plan"), ("app", "manifest")] {
        assert!(
            graph.get(from).is_some_and(|deps| deps.contains(to)),
            "expected {from} -> {to} in {graph:#?}"
        );
    }
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "module cycle: {} (code outside #[cfg(test)] only)",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn a_cycle_is_found() {
    let graph: Graph = [("a", "b"), ("b", "c"), ("c", "b"), ("d", "a")]
        .into_iter()
        .fold(Graph::new(), |mut graph, (from, to)| {
            graph.entry(from.into()).or_default().insert(to.into());
            graph
        });
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["b".into(), "c".into(), "b".into()])
    );
    let mut acyclic = graph.clone();
    acyclic.remove("c");
    assert_eq!(find_cycle(&acyclic), None);
}

/// Top-level module -> the top-level modules its code names. `lib.rs` and `main.rs` are
/// modules `lib` and `main` of their own.
fn module_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = Graph::new();
    for root in ["lib", "main"] {
        let file = src.join(format!("{root}.rs"));
        walk(&file, &src, None, root, &mut graph);
    }
    for (module, deps) in graph.iter_mut() {
        deps.remove(module);
    }
    graph
}

/// Reads the module in `file` (its children live in `dir`), adding the edges of `top` (the
/// top-level module it belongs to; `None` for a crate root, whose children each start one).
fn walk(file: &Path, dir: &Path, top: Option<&str>, root: &str, graph: &mut Graph) {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let syntax = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let owner = top.unwrap_or(root).to_string();
    let mut paths = Paths::default();
    paths.visit_file(&syntax);
    graph.entry(owner.clone()).or_default().extend(paths.found);
    for name in paths.child_files {
        let child_top = top.unwrap_or(&name).to_string();
        let flat = dir.join(format!("{name}.rs"));
        let (child, child_dir) = if flat.exists() {
            (flat, dir.join(&name))
        } else {
            (dir.join(&name).join("mod.rs"), dir.join(&name))
        };
        walk(&child, &child_dir, Some(&child_top), root, graph);
    }
}

/// The crate modules one file names, and its `mod name;` declarations, outside `#[cfg(test)]`.
#[derive(Default)]
struct Paths {
    found: BTreeSet<String>,
    child_files: Vec<String>,
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Meta>()
                .is_ok_and(|meta| meta.path().is_ident("test"))
    })
}

impl Paths {
    fn record<'a>(&mut self, mut segments: impl Iterator<Item = &'a syn::Ident>) {
        let first = segments.next().map(ToString::to_string);
        if matches!(first.as_deref(), Some("crate" | "pss_fix")) {
            if let Some(module) = segments.next() {
                self.found.insert(module.to_string());
            }
        }
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(item) => &item.attrs,
            syn::Item::Fn(item) => &item.attrs,
            syn::Item::Use(item) => &item.attrs,
            syn::Item::Impl(item) => &item.attrs,
            syn::Item::Const(item) => &item.attrs,
            syn::Item::Static(item) => &item.attrs,
            syn::Item::Struct(item) => &item.attrs,
            syn::Item::Enum(item) => &item.attrs,
            syn::Item::Type(item) => &item.attrs,
            syn::Item::Trait(item) => &item.attrs,
            syn::Item::Macro(item) => &item.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if is_test_only(attrs) {
            return;
        }
        if let syn::Item::Mod(module) = item {
            if module.content.is_none() {
                self.child_files.push(module.ident.to_string());
            }
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        if !is_test_only(&item.attrs) {
            syn::visit::visit_impl_item_fn(self, item);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.record(path.segments.iter().map(|segment| &segment.ident));
        syn::visit::visit_path(self, path);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut prefixes = vec![(Vec::new(), &item.tree)];
        while let Some((prefix, tree)) = prefixes.pop() {
            match tree {
                syn::UseTree::Path(path) => {
                    let mut prefix: Vec<&syn::Ident> = prefix;
                    prefix.push(&path.ident);
                    prefixes.push((prefix, &path.tree));
                }
                syn::UseTree::Name(syn::UseName { ident })
                | syn::UseTree::Rename(syn::UseRename { ident, .. }) => {
                    self.record(prefix.into_iter().chain([ident]));
                }
                syn::UseTree::Glob(_) => self.record(prefix.into_iter()),
                syn::UseTree::Group(group) => {
                    for tree in &group.items {
                        prefixes.push((prefix.clone(), tree));
                    }
                }
            }
        }
    }
}

/// A cycle of `graph` as its module names, the first repeated at the end.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = stack.iter().position(|on| on == node) {
            let mut cycle = stack[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

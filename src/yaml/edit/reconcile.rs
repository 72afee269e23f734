//! Reconciliation: the span tree walked alongside the old and the new value, deciding per
//! node whether it stays, is re-spelled, replaced, or has entries and items removed and added.
//! Edits that would change an anchored node used elsewhere, or a key from a merge key, are
//! refused here.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::align::{steps, Step};
use super::{all_keys_double_quoted, Editor, Element, Slot};
use crate::yaml::error::Error;
use crate::yaml::render::Layout;
use crate::yaml::tree::{Kind, Node};
use crate::yaml::value::{is_merge_key, same, scalar_key};

impl Editor<'_> {
    pub(super) fn reconcile(
        &mut self,
        node: &Node,
        old: &Value,
        new: &Value,
        slot: Slot,
        pointer: &mut String,
    ) -> Result<(), Error> {
        if same(old, new) {
            return Ok(());
        }
        if let Kind::Alias { anchor } = node.kind {
            let why = format!(
                "it is reached through alias `*{}`; editing it would change every use of `&{0}`",
                self.anchor_name(anchor)
            );
            return Err(self.refuse(node, pointer, &why));
        }
        if node.anchor != 0 && self.anchored.contains_key(&node.anchor) {
            let why = format!("it is (inside) anchored node `&{}`, which is aliased elsewhere; editing it would change every alias", self.anchor_name(node.anchor));
            return Err(self.refuse(node, pointer, &why));
        }
        match (&node.kind, old, new) {
            (Kind::Map { .. }, Value::Object(old), Value::Object(new)) => {
                self.reconcile_map(node, old, new, slot, pointer)
            }
            (Kind::Seq { .. }, Value::Array(old), Value::Array(new)) => {
                self.reconcile_seq(node, old, new, slot, pointer)
            }
            _ => self.replace(node, new, slot, pointer),
        }
    }

    /// Replaces a whole node with a rendering of `new`.
    fn replace(
        &mut self,
        node: &Node,
        new: &Value,
        slot: Slot,
        pointer: &str,
    ) -> Result<(), Error> {
        if let Some(anchor) = self.used_anchor_in(node) {
            return Err(self.refuse_held_anchor(node, pointer, anchor));
        }
        let in_flow = slot.flow() || self.layout.json;
        let block_collection = matches!(new, Value::Object(map) if !map.is_empty())
            || matches!(new, Value::Array(items) if !items.is_empty());
        let content_start = node.tag_start.map_or(node.start, |tag| tag.min(node.start));
        if in_flow || !block_collection {
            let mut text = String::new();
            if self.layout.json_lines && block_collection {
                // Pretty-printed JSON: laid out over lines from the indentation of its line.
                let line = self.lines.line(self.lines.start(node.start));
                let column = line.len() - line.trim_start_matches([' ', '\t']).len();
                self.layout.json_pretty(&mut text, new, column);
            } else {
                self.layout.inline(&mut text, new);
            }
            let old_is_block_collection =
                !node.is_flow() && matches!(node.kind, Kind::Map { .. } | Kind::Seq { .. });
            match slot {
                Slot::Root if node.is_empty_null() => self.fill_empty_document(node, text),
                _ if node.is_empty_null() => {
                    self.splice(node.start, node.start, format!(" {text}"));
                }
                Slot::Value {
                    colon: Some(at), ..
                }
                | Slot::Item { dash: Some(at), .. }
                    if old_is_block_collection =>
                {
                    // The old value started on a later line: bring the new one up to its key.
                    // A comment ending its last line described its last child: it goes too.
                    let line_end = self.lines.end(node.end);
                    let rest =
                        self.lines.source[node.end..line_end].trim_start_matches([' ', '\t']);
                    let end = if rest.starts_with('#') {
                        line_end
                    } else {
                        node.end
                    };
                    self.splice(at + 1, end, format!(" {text}"));
                }
                _ => self.splice(content_start, node.end, text),
            }
            return Ok(());
        }
        match slot {
            Slot::Value {
                key_column,
                colon: Some(colon),
                ..
            } => {
                let mut text = String::new();
                self.layout.after_colon(&mut text, new, key_column);
                if !node.is_empty_null() {
                    self.splice(colon + 1, node.end, String::new());
                }
                let line_end = self.lines.end(node.end);
                self.splice(line_end, line_end, text);
            }
            Slot::Item {
                dash: Some(dash), ..
            } => {
                let mut text = String::new();
                self.layout
                    .compact(&mut text, new, self.lines.column(dash) + 2);
                let later_line = self.lines.start(node.props_start) != self.lines.start(dash);
                if node.is_empty_null() || later_line {
                    // Nothing, or a value starting on a later line: the new one follows `- `.
                    self.splice(dash + 1, node.end, format!(" {text}"));
                } else {
                    self.splice(content_start, node.end, text);
                }
            }
            Slot::Root if node.is_empty_null() => {
                let mut text = String::new();
                self.layout.compact(&mut text, new, 0);
                self.fill_empty_document(node, text);
            }
            Slot::Root => {
                let mut text = String::new();
                self.layout
                    .compact(&mut text, new, self.lines.column(node.start));
                self.splice(content_start, node.end, text);
            }
            _ => return Err(self.refuse(node, pointer, "cannot find where its value starts")),
        }
        Ok(())
    }

    /// A mapping: changed entries reconciled, removed ones taken out, new ones appended.
    fn reconcile_map(
        &mut self,
        node: &Node,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
        slot: Slot,
        pointer: &mut String,
    ) -> Result<(), Error> {
        let Kind::Map { flow, entries } = &node.kind else {
            unreachable!("reconcile should call this with a mapping");
        };
        let flow = *flow;
        if new.is_empty() || (entries.is_empty() && !slot.flow() && !self.layout.json) {
            // `{}` both ways, or `{}` gaining children in block context: re-render the node.
            return self.replace(node, &Value::Object(new.clone()), slot, pointer);
        }
        let children_flow = flow || self.layout.json;
        let mut explicit: HashMap<String, Vec<usize>> = HashMap::new();
        let mut merged = HashSet::new();
        let mut last_merge = None;
        for (index, entry) in entries.iter().enumerate() {
            if is_merge_key(&entry.key, self.lines.source) {
                last_merge = Some(index);
                self.merged_keys(&entry.value, &mut merged);
            } else if let Some(key) = scalar_key(&entry.key, self.lines.source) {
                explicit.entry(key.into_owned()).or_default().push(index);
            }
        }
        let mut removed = Vec::new();
        for (key, old_value) in old {
            let new_value = new.get(key);
            if new_value.is_some_and(|new_value| same(old_value, new_value)) {
                continue;
            }
            let writer = explicit
                .get(key)
                .and_then(|indices| indices.last().copied())
                .filter(|&index| last_merge.is_none_or(|merge| merge < index));
            let depth = pointer.len();
            crate::pointer::push_token(pointer, key);
            let result = match (new_value, writer) {
                (None, _) if merged.contains(key) => Err(self.refuse(
                    node,
                    pointer,
                    "it comes from a merge key `<<`; removing it means editing the merged mapping",
                )),
                (None, _) => match explicit.get(key) {
                    Some(indices) => {
                        let held = indices.iter().find_map(|&index| {
                            let entry = &entries[index];
                            self.used_anchor_in(&entry.key)
                                .or_else(|| self.used_anchor_in(&entry.value))
                        });
                        match held {
                            Some(anchor) => Err(self.refuse_held_anchor(node, pointer, anchor)),
                            None => {
                                removed.extend(indices.iter().copied());
                                Ok(())
                            }
                        }
                    }
                    None => Err(self.refuse(node, pointer, "its key is not a plain scalar")),
                },
                (Some(new_value), Some(index)) => {
                    let entry = &entries[index];
                    let slot = Slot::Value {
                        key_column: self.lines.column(entry.start),
                        colon: entry.colon,
                        flow: children_flow,
                    };
                    self.reconcile(&entry.value, old_value, new_value, slot, pointer)
                }
                (Some(_), None) => Err(self.refuse(
                    node,
                    pointer,
                    "it comes from a merge key `<<`; changing it means editing the merged mapping",
                )),
            };
            pointer.truncate(depth);
            result?;
        }
        if removed.len() == entries.len() {
            return self.replace(node, &Value::Object(new.clone()), slot, pointer);
        }
        removed.sort_unstable();
        let elements: Vec<Element> = entries
            .iter()
            .map(|entry| Element {
                start: entry.start,
                end: entry
                    .value
                    .end
                    .max(entry.key.end)
                    .max(entry.colon.map_or(0, |colon| colon + 1)),
            })
            .collect();
        self.remove(&elements, &removed, children_flow);
        let added: Vec<(&String, &Value)> = new
            .iter()
            .filter(|(key, _)| !old.contains_key(*key))
            .collect();
        if added.is_empty() {
            return Ok(());
        }
        let column = self.lines.column(elements[0].start);
        // New keys are quoted as this mapping's keys are.
        let layout = Layout {
            quoted_keys: if entries.is_empty() {
                self.layout.quoted_keys
            } else {
                all_keys_double_quoted(entries)
            },
            ..self.layout
        };
        if children_flow {
            let mut rendered = Vec::new();
            for (key, value) in added {
                let mut text = String::new();
                layout.flow_entry(&mut text, key, value);
                rendered.push((text, key.as_str(), value));
            }
            self.append_flow(node, &elements, rendered);
        } else {
            let rendered = added
                .into_iter()
                .map(|(key, value)| {
                    let mut text = String::new();
                    layout.entry(&mut text, key, value, column);
                    text
                })
                .collect();
            self.append_block(&elements, column, rendered);
        }
        Ok(())
    }

    /// A sequence: items aligned (see `align`), then paired ones reconciled, the rest removed
    /// or inserted.
    fn reconcile_seq(
        &mut self,
        node: &Node,
        old: &[Value],
        new: &[Value],
        slot: Slot,
        pointer: &mut String,
    ) -> Result<(), Error> {
        let Kind::Seq { flow, items } = &node.kind else {
            unreachable!("reconcile should call this with a sequence");
        };
        let flow = *flow;
        if new.is_empty() || (items.is_empty() && !slot.flow() && !self.layout.json) {
            return self.replace(node, &Value::Array(new.to_vec()), slot, pointer);
        }
        let children_flow = flow || self.layout.json;
        let elements: Vec<Element> = items
            .iter()
            .map(|item| Element {
                start: item.dash.unwrap_or(item.node.props_start),
                end: item.node.end,
            })
            .collect();
        let steps = steps(old, new, self.hints.get(pointer.as_str()).copied());
        let paired = steps.iter().any(|step| matches!(step, Step::Pair(..)));
        let removed_count = steps
            .iter()
            .filter(|step| matches!(step, Step::Remove(_)))
            .count();
        if !paired && removed_count == old.len() {
            // Nothing of the old sequence stays: render it anew.
            return self.replace(node, &Value::Array(new.to_vec()), slot, pointer);
        }
        let mut removed = Vec::new();
        for step in steps {
            match step {
                Step::Pair(index, new_index) => {
                    let item = &items[index];
                    let depth = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&new_index.to_string());
                    let slot = Slot::Item {
                        dash: item.dash,
                        flow: children_flow,
                    };
                    let result =
                        self.reconcile(&item.node, &old[index], &new[new_index], slot, pointer);
                    pointer.truncate(depth);
                    result?;
                }
                Step::Remove(index) => {
                    if let Some(anchor) = self.used_anchor_in(&items[index].node) {
                        let mut item_pointer = pointer.clone();
                        item_pointer.push_str(&format!("/{index}"));
                        return Err(self.refuse_held_anchor(
                            &items[index].node,
                            &item_pointer,
                            anchor,
                        ));
                    }
                    removed.push(index);
                }
                Step::Insert { before, new: range } => {
                    self.insert_items(node, &elements, before, &new[range], children_flow);
                }
            }
        }
        self.remove(&elements, &removed, children_flow);
        Ok(())
    }

    /// The keys a merge key's value brings in.
    fn merged_keys(&self, node: &Node, into: &mut HashSet<String>) {
        match &node.kind {
            Kind::Map { entries, .. } => {
                for entry in entries {
                    if is_merge_key(&entry.key, self.lines.source) {
                        self.merged_keys(&entry.value, into);
                    } else if let Some(key) = scalar_key(&entry.key, self.lines.source) {
                        into.insert(key.into_owned());
                    }
                }
            }
            Kind::Seq { items, .. } => {
                for item in items {
                    self.merged_keys(&item.node, into);
                }
            }
            Kind::Alias { anchor } => {
                if let Some(target) = self.anchored.get(anchor).copied() {
                    self.merged_keys(target, into);
                }
            }
            Kind::Scalar { .. } => {}
        }
    }
}

//! What the operator reads: aligned tables for lists, `Field: value` lines
//! for single resources, and with `--json` the API's response shape,
//! pretty-printed with the API's field names.
//!
//! Everything here builds a `String`; `main` writes it out. Text that comes
//! from the daemon is cleaned of control characters before it reaches a
//! terminal, so a key description cannot move the cursor or recolour it.

use std::fmt::Display;

use serde::Serialize;

/// How the reply is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Tables and `Field: value` lines.
    Human,
    /// The reply's structure as pretty JSON.
    Json,
}

/// Shows `value` as JSON or, for humans, as `human` renders it.
pub fn show<T: Serialize>(
    format: Format,
    value: &T,
    human: impl FnOnce(&T) -> String,
) -> Result<String, serde_json::Error> {
    match format {
        Format::Json => json(value),
        Format::Human => Ok(human(value)),
    }
}

/// Shows a list: as JSON, the API's list shape `{"<Name>": [...],
/// "TotalCount": n}`; for humans, as `human` renders the items.
pub fn show_list<T: Serialize>(
    format: Format,
    name: &str,
    items: &[T],
    human: impl FnOnce(&[T]) -> String,
) -> Result<String, serde_json::Error> {
    match format {
        Format::Json => {
            let mut shape = serde_json::Map::new();
            shape.insert(name.to_owned(), serde_json::to_value(items)?);
            shape.insert("TotalCount".to_owned(), items.len().into());
            json(&shape)
        }
        Format::Human => Ok(human(items)),
    }
}

/// What a command that returns nothing prints: `message` for humans, `{}`
/// as JSON.
pub fn done(format: Format, message: &str) -> Result<String, serde_json::Error> {
    show(format, &serde_json::json!({}), |_| format!("{message}\n"))
}

/// Pretty JSON followed by a newline.
pub fn json<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

/// Text for a value that may be absent: `-` when it is.
pub fn or_dash<T: Display>(value: Option<&T>) -> String {
    value.map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// A list of names, comma separated, or `-` when empty.
pub fn list_or_dash(items: &[String]) -> String {
    if items.is_empty() { "-".to_owned() } else { items.join(",") }
}

/// Multi-line text from the daemon (a PEM) as it is, but for control
/// characters other than newlines, which are escaped; it ends with a
/// newline.
pub fn block(text: &str) -> String {
    let mut out: String = text.split('\n').map(clean).collect::<Vec<_>>().join("\n");
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Replaces control characters (escape sequences, newlines, tabs) with
/// their escaped form, so one value stays one cell and cannot drive the
/// terminal.
fn clean(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// A table with a header row, columns left-aligned and separated by two
/// spaces; the last column is not padded, so lines carry no trailing blanks.
#[derive(Debug)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Self {
        Self { header: header.iter().map(|title| (*title).to_owned()).collect(), rows: Vec::new() }
    }

    /// Appends a row (missing cells print empty, extra cells are dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells: Vec<String> = cells.iter().map(|cell| clean(cell)).collect();
        cells.resize(self.header.len(), String::new());
        self.rows.push(cells);
    }

    /// The table as text, one line per row, each ending with a newline.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|title| title.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `Field: value` lines with the values aligned, for one resource. Field
/// names are the API's, as `--json` prints them.
#[derive(Debug, Default)]
pub struct Fields {
    fields: Vec<(String, String)>,
}

impl Fields {
    /// No fields yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a field.
    pub fn field(mut self, name: &str, value: impl Display) -> Self {
        self.fields.push((name.to_owned(), clean(&value.to_string())));
        self
    }

    /// The lines, each ending with a newline.
    pub fn render(&self) -> String {
        let width = self.fields.iter().map(|(name, _)| name.chars().count() + 1).max().unwrap_or(0);
        let mut out = String::new();
        for (name, value) in &self.fields {
            let label = format!("{name}:");
            out.push_str(format!("{label:<width$} {value}").trim_end());
            out.push('\n');
        }
        out
    }
}

/// `--query` named a field the response does not have.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The response was not JSON (a bug: queries always render JSON).
    #[error("the response is not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    /// No field at that path.
    #[error("the response has no field '{0}'")]
    Missing(String),
}

/// Picks the value at a dotted path (`KeyMetadata.KeyId`, `Keys.0.KeyId`)
/// out of a JSON rendering: strings print bare, anything else as compact
/// JSON, followed by a newline.
pub fn select(json_text: &str, path: &str) -> Result<String, QueryError> {
    let root: serde_json::Value = serde_json::from_str(json_text)?;
    let mut value = &root;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let next = match value {
            serde_json::Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            serde_json::Value::Object(map) => map.get(segment),
            _ => None,
        };
        value = next.ok_or_else(|| QueryError::Missing(path.to_owned()))?;
    }
    let mut text = match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_without_trailing_blanks() {
        let mut table = Table::new(&["NAME", "KIND", "CLUSTER"]);
        table.row(vec!["default".into(), "default".into(), "-".into()]);
        table.row(vec!["hsm1".into(), "hardware".into(), "cluster-one".into()]);
        assert_eq!(
            table.render(),
            "NAME     KIND      CLUSTER\n\
             default  default   -\n\
             hsm1     hardware  cluster-one\n"
        );
    }

    #[test]
    fn an_empty_table_is_its_header_and_short_rows_are_padded() {
        assert_eq!(Table::new(&["A", "B"]).render(), "A  B\n");
        let mut table = Table::new(&["A", "B", "C"]);
        table.row(vec!["xyz".into()]);
        assert_eq!(table.render(), "A    B  C\nxyz\n");
    }

    #[test]
    fn wide_characters_count_as_one_column_each() {
        let mut table = Table::new(&["N", "X"]);
        table.row(vec!["clé".into(), "1".into()]);
        assert_eq!(table.render(), "N    X\nclé  1\n");
    }

    #[test]
    fn fields_are_aligned_name_colon_value_lines() {
        let text = Fields::new().field("KeyId", "key-1").field("DeleteDate", "-").field("Description", "").render();
        assert_eq!(text, "KeyId:       key-1\nDeleteDate:  -\nDescription:\n");
    }

    #[test]
    fn control_characters_from_the_daemon_are_escaped() {
        let text = Fields::new().field("Description", "a\u{1b}[31mred\nline").render();
        assert_eq!(text, "Description: a\\u{1b}[31mred\\nline\n");
        let mut table = Table::new(&["D"]);
        table.row(vec!["tab\there".into()]);
        assert_eq!(table.render(), "D\ntab\\there\n");
    }

    #[test]
    fn blocks_keep_their_lines_and_end_with_one_newline() {
        let pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----";
        assert_eq!(block(pem), format!("{pem}\n"));
        assert_eq!(block(&format!("{pem}\n")), format!("{pem}\n"));
        assert_eq!(block("a\u{1b}[2J\nb\n"), "a\\u{1b}[2J\nb\n");
    }

    #[test]
    fn json_is_pretty_and_ends_with_a_newline() {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Reply {
            key_id: &'static str,
        }
        assert_eq!(json(&Reply { key_id: "k" }).expect("json"), "{\n  \"KeyId\": \"k\"\n}\n");
        let human = show(Format::Human, &1, |n| format!("{n} thing\n")).expect("human");
        assert_eq!(human, "1 thing\n");
    }

    #[test]
    fn absent_values_print_as_a_dash() {
        assert_eq!(or_dash::<u8>(None), "-");
        assert_eq!(or_dash(Some(&7)), "7");
        assert_eq!(list_or_dash(&[]), "-");
        assert_eq!(list_or_dash(&["a".into(), "b".into()]), "a,b");
    }

    #[test]
    fn queries_pick_fields_by_dotted_path() {
        let json = r#"{"KeyMetadata":{"KeyId":"key-1","Tags":[1,2]},"Keys":[{"Pkcs11Id":"ab"}],"Ok":true}"#;
        assert_eq!(select(json, "KeyMetadata.KeyId").expect("found"), "key-1\n");
        assert_eq!(select(json, "Keys.0.Pkcs11Id").expect("found"), "ab\n");
        assert_eq!(select(json, "KeyMetadata.Tags").expect("found"), "[1,2]\n");
        assert_eq!(select(json, "Ok").expect("found"), "true\n");
        assert!(matches!(select(json, "KeyMetadata.Nope"), Err(QueryError::Missing(_))));
        assert!(matches!(select(json, "Keys.7"), Err(QueryError::Missing(_))));
    }
}

//! A small JSON writer: the node only ever writes JSON (clients send forms),
//! so a serializer crate would be more than the job needs.

use std::fmt::Write;

/// Builds one JSON value into a string; the caller keeps it well formed.
#[derive(Default)]
pub struct Json {
    out: String,
    /// Whether the current object or array needs a comma before the next item.
    comma: Vec<bool>,
    /// A key was just written: the next value belongs to it.
    after_key: bool,
}

impl Json {
    pub fn new() -> Json {
        Json::default()
    }

    pub fn finish(self) -> String {
        self.out
    }

    fn item(&mut self) {
        if std::mem::take(&mut self.after_key) {
            return;
        }
        if let Some(comma) = self.comma.last_mut() {
            if *comma {
                self.out.push(',');
            }
            *comma = true;
        }
    }

    pub fn open(&mut self) -> &mut Self {
        self.item();
        self.out.push('{');
        self.comma.push(false);
        self
    }

    pub fn close(&mut self) -> &mut Self {
        self.out.push('}');
        self.comma.pop();
        self
    }

    pub fn open_array(&mut self) -> &mut Self {
        self.item();
        self.out.push('[');
        self.comma.push(false);
        self
    }

    pub fn close_array(&mut self) -> &mut Self {
        self.out.push(']');
        self.comma.pop();
        self
    }

    /// Writes `"key":` inside an object; the value follows.
    pub fn key(&mut self, key: &str) -> &mut Self {
        self.item();
        string(&mut self.out, key);
        self.out.push(':');
        self.after_key = true;
        self
    }

    pub fn str(&mut self, value: &str) -> &mut Self {
        self.item();
        string(&mut self.out, value);
        self
    }

    pub fn num(&mut self, value: impl Into<u64>) -> &mut Self {
        self.item();
        let _ = write!(self.out, "{}", value.into());
        self
    }

    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.item();
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    pub fn null(&mut self) -> &mut Self {
        self.item();
        self.out.push_str("null");
        self
    }

    pub fn field_str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key).str(value)
    }

    pub fn field_num(&mut self, key: &str, value: impl Into<u64>) -> &mut Self {
        self.key(key).num(value)
    }
}

/// Appends `value` as a JSON string literal.
pub fn string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Keeps the output safe to embed in HTML, too.
            '<' => out.push_str("\\u003c"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_values_are_separated_correctly() {
        let mut j = Json::new();
        j.open().field_num("node", 1u16).key("entries").open_array();
        for (id, text) in [(1u64, "a"), (2, "b")] {
            j.open().field_num("id", id).field_str("text", text).close();
        }
        j.close_array()
            .key("ok")
            .bool(true)
            .key("none")
            .null()
            .close();
        assert_eq!(
            j.finish(),
            r#"{"node":1,"entries":[{"id":1,"text":"a"},{"id":2,"text":"b"}],"ok":true,"none":null}"#
        );
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\n\u{1}<script>é");
        assert_eq!(out, r#""a\"b\\c\n\u0001\u003cscript>é""#);
    }
}

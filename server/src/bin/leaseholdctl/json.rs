//! JSON bodies reprinted as they came (fields in the service's order), pretty or on one
//! line: a reindenting pass over the text, after checking that it is JSON.

use serde::de::IgnoredAny;

/// The body pretty-printed (two-space indents), or `None` when it is not JSON.
pub fn pretty(body: &[u8]) -> Option<String> {
    reformat(body, true)
}

/// The body on one line, or `None` when it is not JSON.
pub fn compact(body: &[u8]) -> Option<String> {
    reformat(body, false)
}

/// Reprints valid JSON, keeping strings byte for byte and dropping the whitespace
/// between tokens; `pretty` puts each member on its own indented line.
fn reformat(body: &[u8], pretty: bool) -> Option<String> {
    serde_json::from_slice::<IgnoredAny>(body).ok()?;
    let text = std::str::from_utf8(body).ok()?;
    let mut out = Printer {
        out: String::with_capacity(text.len() * 2),
        depth: 0,
        pretty,
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.string(&mut chars),
            '{' | '[' => {
                skip_space(&mut chars);
                let empty = matches!(chars.peek(), Some('}' | ']'));
                out.open(c, empty);
            }
            '}' | ']' => out.close(c),
            ',' => out.comma(),
            ':' => out.colon(),
            c if c.is_whitespace() => {}
            c => out.out.push(c),
        }
    }
    Some(out.out)
}

/// Skips whitespace.
fn skip_space(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.next_if(|c| c.is_whitespace()).is_some() {}
}

/// The output and where it is in the nesting.
struct Printer {
    /// What was printed.
    out: String,
    /// How many containers are open.
    depth: usize,
    /// Whether to indent.
    pretty: bool,
}

impl Printer {
    /// Copies a string (its opening quote consumed) through its closing quote.
    fn string(&mut self, chars: &mut impl Iterator<Item = char>) {
        self.out.push('"');
        let mut escaped = false;
        for c in chars.by_ref() {
            self.out.push(c);
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => return,
                _ => escaped = false,
            }
        }
    }

    /// Opens a container; an empty one stays `{}` or `[]`.
    fn open(&mut self, c: char, empty: bool) {
        self.out.push(c);
        if !empty {
            self.depth += 1;
            self.newline();
        }
    }

    /// Closes a container (an empty one's indentation was never opened).
    fn close(&mut self, c: char) {
        if !self.out.ends_with(['{', '[']) {
            self.depth = self.depth.saturating_sub(1);
            self.newline();
        }
        self.out.push(c);
    }

    /// Separates members.
    fn comma(&mut self) {
        self.out.push(',');
        self.newline();
    }

    /// Separates a name from its value.
    fn colon(&mut self) {
        self.out.push_str(if self.pretty { ": " } else { ":" });
    }

    /// A new line at the current depth, when pretty.
    fn newline(&mut self) {
        if self.pretty {
            self.out.push('\n');
            self.out.push_str(&"  ".repeat(self.depth));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_strings() {
        let body = br#" {"b": 1, "a": [1, {"x" : "y, \"z\": {"}], "e": {}, "f": [ ]} "#;
        let expected = "{\n  \"b\": 1,\n  \"a\": [\n    1,\n    {\n      \"x\": \"y, \\\"z\\\": {\"\n    }\n  ],\n  \"e\": {},\n  \"f\": []\n}";
        assert_eq!(pretty(body).unwrap(), expected);
        let one_line = r#"{"b":1,"a":[1,{"x":"y, \"z\": {"}],"e":{},"f":[]}"#;
        assert_eq!(compact(body).unwrap(), one_line);
    }

    #[test]
    fn matches_serde_json() {
        let body = br#"{"error":"held","holder":"u\\1","n":[-15,null,true,0.5],"ok":false}"#;
        let value: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            pretty(body).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }

    #[test]
    fn refuses_text() {
        assert_eq!(pretty(b"Unauthorized"), None);
        assert_eq!(pretty(b""), None);
    }
}

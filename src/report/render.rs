//! All tera code lives here: the built-in templates (overridable from a folder) and the filters
//! that make evidence text safe inside a Markdown table. Every format renders one `Report` into
//! an `impl Write`.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use tera::{Tera, Value};

use super::Report;

pub const MD_TEMPLATE: &str = "report.md.tera";

const BUILTIN: &[(&str, &str)] = &[(MD_TEMPLATE, include_str!("../../templates/report.md.tera"))];

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template error: {0}")]
    Template(String),
    #[error("cannot write report: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot serialise report: {0}")]
    Json(#[from] serde_json::Error),
}

/// Output formats this build knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "md" | "markdown" => Some(Format::Markdown),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Markdown => "report.md",
            Format::Json => "report.json",
        }
    }
}

/// tera's own errors hide the cause in a chain; surface all of it.
fn tera_error(e: tera::Error) -> RenderError {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    RenderError::Template(msg)
}

pub struct Renderer {
    tera: Tera,
}

impl Renderer {
    /// Built-in templates, each replaced by a file of the same name in `dir` when present.
    pub fn new(dir: Option<&Path>) -> Result<Renderer, RenderError> {
        let mut tera = Tera::default();
        for (name, text) in BUILTIN {
            let over = dir.map(|d| d.join(name)).filter(|p| p.is_file());
            match over {
                Some(p) => tera.add_template_file(&p, Some(name)).map_err(tera_error)?,
                None => tera.add_raw_template(name, text).map_err(tera_error)?,
            }
        }
        tera.autoescape_on(vec![".html.tera", ".html"]);
        tera.register_filter("cell", cell_filter);
        tera.register_filter("code", code_filter);
        Ok(Renderer { tera })
    }

    pub fn markdown(&self, report: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
        let ctx = tera::Context::from_serialize(report).map_err(tera_error)?;
        let text = self.tera.render(MD_TEMPLATE, &ctx).map_err(tera_error)?;
        out.write_all(tidy(&text).as_bytes())?;
        Ok(())
    }
}

/// Collapse runs of blank lines that template control flow leaves behind.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Escape evidence for a Markdown table cell: a hostile value cannot add a column, a row or a
/// heading, nor open a code span that swallows the rest of the table.
pub fn md_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // Paired backticks are code spans that close inside the cell; an odd one would not.
    let balanced = s.matches('`').count().is_multiple_of(2);
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            '`' if !balanced => out.push('\''),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

fn cell_filter(v: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    Ok(Value::String(md_cell(&s)))
}

/// A value as inline code, safe in a table cell.
fn code_filter(v: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let clean: String = s
        .chars()
        .map(|c| match c {
            '`' => '\'',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect();
    // Inside a code span a pipe still splits a GFM table cell, so it is escaped.
    Ok(Value::String(format!("`{}`", clean.replace('|', "\\|"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_forge_rows() {
        assert_eq!(
            md_cell("PASS | ✅ |\n| forged | row"),
            "PASS \\| ✅ \\| \\| forged \\| row"
        );
        assert_eq!(md_cell("<script>`x`"), "&lt;script&gt;`x`");
        assert_eq!(md_cell("a ` b"), "a ' b");
    }
}

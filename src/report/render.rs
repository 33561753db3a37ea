//! All tera code lives here: the built-in templates (overridable from a folder) and the filters
//! that make evidence text safe inside a Markdown table or an HTML page. Every format renders one
//! `Report` into an `impl Write`; [`Renderer::render`] picks the writer for a [`Format`].

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use tera::{Tera, Value};

use super::Report;

pub const MD_TEMPLATE: &str = "report.md.tera";
pub const HTML_TEMPLATE: &str = "report.html.tera";

const BUILTIN: &[(&str, &str)] = &[
    (MD_TEMPLATE, include_str!("../../templates/report.md.tera")),
    (
        HTML_TEMPLATE,
        include_str!("../../templates/report.html.tera"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template error: {0}")]
    Template(String),
    #[error("cannot write report: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot serialise report: {0}")]
    Json(#[from] serde_json::Error),
}

/// Output formats this build knows (`--format`, comma-separated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// report.md
    #[value(name = "md", alias = "markdown")]
    Markdown,
    /// report.html (no JavaScript)
    Html,
    /// report.json, the evidence bundle
    Json,
    /// report.junit.xml
    #[value(alias = "xml")]
    Junit,
    /// report.sarif (SARIF 2.1.0)
    Sarif,
    /// The verdict as an in-toto Statement v1 (see `crate::trust::intoto`).
    #[value(alias = "in-toto")]
    Intoto,
    /// GitHub Actions workflow commands (also printed, and a job summary written).
    Github,
    /// GitLab Code Quality JSON.
    Gitlab,
}

impl Format {
    /// Every format, in the order `--format` lists them.
    pub const ALL: [Format; 8] = [
        Format::Markdown,
        Format::Html,
        Format::Json,
        Format::Junit,
        Format::Sarif,
        Format::Intoto,
        Format::Github,
        Format::Gitlab,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Sarif => "sarif",
            Format::Intoto => "intoto",
            Format::Github => "github",
            Format::Gitlab => "gitlab",
        }
    }
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Markdown => "report.md",
            Format::Html => "report.html",
            Format::Json => "report.json",
            Format::Junit => "report.junit.xml",
            Format::Sarif => "report.sarif",
            Format::Intoto => "report.intoto.json",
            Format::Github => "report.github.txt",
            Format::Gitlab => "gl-code-quality-report.json",
        }
    }
}

/// tera's own errors hide the cause in a chain; surface all of it.
/// One template (the override in `dir` when there is one) with shipshape's filters.
fn compile(name: &str, text: &str, dir: Option<&Path>) -> Result<Tera, RenderError> {
    let mut tera = Tera::default();
    match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
        Some(p) => tera.add_template_file(&p, Some(name)).map_err(tera_error)?,
        None => tera.add_raw_template(name, text).map_err(tera_error)?,
    }
    tera.autoescape_on(vec![".html.tera", ".html"]);
    // tera's default also escapes `/`, which only makes paths unreadable in the source.
    tera.set_escape_fn(html_escape);
    tera.register_filter("cell", cell_filter);
    tera.register_filter("code", code_filter);
    tera.register_filter("inline", inline_filter);
    tera.register_filter("badge", badge_filter);
    tera.register_filter("badge_html", badge_html_filter);
    tera.register_filter("history_svg", history_svg_filter);
    Ok(tera)
}

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
    /// Each built-in template compiled on first use: compiling both took 15 ms of a 90 ms
    /// audit that writes JSON and Markdown only. Overrides (`--templates`) are compiled at once,
    /// so a broken one is a usage error before anything is collected or written.
    engines: [std::sync::OnceLock<Result<Tera, String>>; 2],
    dir: Option<std::path::PathBuf>,
    signoffs: Vec<crate::trust::signoff::SignoffEntry>,
    allowed_signers: Option<String>,
}

impl Renderer {
    pub fn new(dir: Option<&Path>) -> Result<Renderer, RenderError> {
        let r = Renderer {
            engines: Default::default(),
            dir: dir.map(Path::to_path_buf),
            signoffs: Vec::new(),
            allowed_signers: None,
        };
        if dir.is_some() {
            for (name, _) in BUILTIN {
                r.engine(name)?;
            }
        }
        Ok(r)
    }

    /// The engine holding template `name`, compiled once.
    fn engine(&self, name: &str) -> Result<&Tera, RenderError> {
        let i = BUILTIN
            .iter()
            .position(|(n, _)| *n == name)
            .ok_or_else(|| RenderError::Template(format!("no template `{name}`")))?;
        let built = self.engines[i].get_or_init(|| {
            compile(name, BUILTIN[i].1, self.dir.as_deref()).map_err(|e| match e {
                RenderError::Template(message) => message,
                other => other.to_string(),
            })
        });
        built.as_ref().map_err(|e| RenderError::Template(e.clone()))
    }

    /// Verify the sign-offs the reports show against this allowed-signers text.
    pub fn with_allowed_signers(mut self, text: Option<String>) -> Self {
        self.allowed_signers = text;
        self
    }

    fn signoff_block(&self, bundle: &crate::evidence::Bundle) -> super::signoffs::SignoffBlock {
        super::signoffs::block(
            &bundle.report,
            &bundle.sha256,
            &self.signoffs,
            self.allowed_signers.as_deref(),
        )
    }

    /// Sign-offs to list in the in-toto statement.
    pub fn with_signoffs(mut self, signoffs: Vec<crate::trust::signoff::SignoffEntry>) -> Self {
        self.signoffs = signoffs;
        self
    }

    /// Write `bundle` in `format`. Markdown, HTML, JUnit and SARIF come from the bundle's
    /// report alone; JSON is the bundle itself.
    pub fn render(
        &self,
        format: Format,
        bundle: &crate::evidence::Bundle,
        out: &mut dyn Write,
    ) -> Result<(), RenderError> {
        match format {
            Format::Markdown => {
                self.markdown_with(&bundle.report, Some(&self.signoff_block(bundle)), out)
            }
            Format::Html => self.html_with(&bundle.report, Some(&self.signoff_block(bundle)), out),
            Format::Json => {
                serde_json::to_writer_pretty(&mut *out, bundle)?;
                out.write_all(b"\n")?;
                Ok(())
            }
            Format::Junit => Ok(super::junit::write(&bundle.report, out)?),
            Format::Sarif => Ok(super::sarif::write(&bundle.report, out)?),
            Format::Github => Ok(super::ci::write_github(&bundle.report, out)?),
            Format::Gitlab => Ok(super::ci::write_gitlab(&bundle.report, out)?),
            Format::Intoto => {
                let st = crate::trust::intoto::statement(bundle, &self.signoffs);
                serde_json::to_writer_pretty(&mut *out, &st)?;
                out.write_all(b"\n")?;
                Ok(())
            }
        }
    }

    /// One self-contained HTML page (inline CSS, no scripts). Evidence text is escaped by tera's
    /// autoescape, which is on for `*.html.tera` names.
    pub fn html(&self, report: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
        self.html_with(report, None, out)
    }

    /// [`Renderer::html`] with the sign-off block of the bundle.
    pub fn html_with(
        &self,
        report: &Report,
        signoffs: Option<&super::signoffs::SignoffBlock>,
        out: &mut dyn Write,
    ) -> Result<(), RenderError> {
        let mut ctx = tera::Context::from_serialize(&*with_words(report)).map_err(tera_error)?;
        ctx.insert("signoffs", &signoffs);
        let text = self
            .engine(HTML_TEMPLATE)?
            .render(HTML_TEMPLATE, &ctx)
            .map_err(tera_error)?;
        out.write_all(tidy(&text).as_bytes())?;
        Ok(())
    }

    pub fn markdown(&self, report: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
        self.markdown_with(report, None, out)
    }

    /// [`Renderer::markdown`] with the sign-off block of the bundle.
    pub fn markdown_with(
        &self,
        report: &Report,
        signoffs: Option<&super::signoffs::SignoffBlock>,
        out: &mut dyn Write,
    ) -> Result<(), RenderError> {
        let mut ctx = tera::Context::from_serialize(&*with_words(report)).map_err(tera_error)?;
        ctx.insert("signoffs", &signoffs);
        let text = self
            .engine(MD_TEMPLATE)?
            .render(MD_TEMPLATE, &ctx)
            .map_err(tera_error)?;
        out.write_all(tidy(&text).as_bytes())?;
        Ok(())
    }
}

/// A bundle written before gaps carried their status word gets it from the icon, so the
/// templates render it as they render a new one.
fn with_words(report: &Report) -> std::borrow::Cow<'_, Report> {
    let missing = |g: &super::Gap| g.word.is_empty();
    if !report.blocking_gaps.iter().any(missing) && !report.nonblocking_gaps.iter().any(missing) {
        return std::borrow::Cow::Borrowed(report);
    }
    let mut r = report.clone();
    for g in r
        .blocking_gaps
        .iter_mut()
        .chain(r.nonblocking_gaps.iter_mut())
    {
        if g.word.is_empty() {
            g.word = match g.icon.as_str() {
                "❌" => "Fail",
                "⚠️" => "Warning",
                "ℹ️" => "Info",
                "⏳" => "Pending",
                "🔕" => "Waived",
                _ => "Gap",
            }
            .into();
        }
    }
    std::borrow::Cow::Owned(r)
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

/// A status cell with its word beside the icon, so it reads without an emoji font: `✅` →
/// `✅ yes`; a cell that already has words is kept. Returns the CSS status class too.
fn badge(s: &str) -> (&'static str, String) {
    let (class, word) = match s.trim() {
        "✅" => ("pass", "yes"),
        "❌" => ("fail", "no"),
        "⏳" => ("pending", "pending"),
        "⚠️" => ("warn", "warning"),
        "—" => ("skipped", "n/a"),
        other => {
            let class = match other.chars().next() {
                Some('✅') => "pass",
                Some('❌') => "fail",
                Some('⏳') => "pending",
                Some('⚠') => "warn",
                _ => "skipped",
            };
            return (class, other.to_string());
        }
    };
    (class, format!("{} {word}", s.trim()))
}

fn badge_filter(v: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(md_cell(&badge(v.as_str().unwrap_or("")).1)))
}

fn badge_html_filter(v: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let (class, text) = badge(v.as_str().unwrap_or(""));
    Ok(Value::String(format!(
        "<span class=\"st st-{class}\">{}</span>",
        tera::escape_html(&text)
    )))
}

/// The history rows as an inline SVG chart (numbers and escaped dates only).
fn history_svg_filter(v: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let rows: Vec<super::history::HistoryRow> =
        serde_json::from_value(v.clone()).map_err(|e| tera::Error::msg(format!("history: {e}")))?;
    Ok(Value::String(super::history::svg(&rows)))
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

/// Escape text for HTML (element content and quoted attributes alike).
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Evidence sentences quote values in backticks; in HTML those become `<code>`. The text is
/// escaped first, so nothing in it can become markup: the only tags are the ones added here.
/// Use as `{{ x | inline | safe }}`.
pub fn html_inline(s: &str) -> String {
    let escaped = html_escape(s);
    let parts: Vec<&str> = escaped.split('`').collect();
    if parts.len().is_multiple_of(2) {
        // An unpaired backtick: no code spans at all.
        return escaped;
    }
    let mut out = String::with_capacity(escaped.len() + 16);
    for (i, p) in parts.iter().enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(p);
            out.push_str("</code>");
        } else {
            out.push_str(p);
        }
    }
    out
}

fn inline_filter(v: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    Ok(Value::String(html_inline(&s)))
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

    #[test]
    fn inline_html_escapes_before_adding_code_tags() {
        assert_eq!(
            html_inline("status `<script>x</script>` is \"bad\""),
            "status <code>&lt;script&gt;x&lt;/script&gt;</code> is &quot;bad&quot;"
        );
        assert_eq!(html_inline("a ` <b>"), "a ` &lt;b&gt;");
    }
}

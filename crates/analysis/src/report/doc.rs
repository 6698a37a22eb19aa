//! The report as a document: the blocks are built once from the study (`sections.rs`) and
//! rendered twice, to report.md (`markdown.rs`) and to the self-contained report.html
//! (`html/`), so the two can never say different things.

use std::path::PathBuf;

use crate::tables::text::TextTable;

/// Text carrying the generators' inline marks: `` `code` ``, `**bold**` and `*emphasis*`,
/// the only Markdown the answer, the findings and the captions write. report.md takes it as
/// is; report.html turns exactly these marks into elements and escapes everything else
/// (`inline.rs`). Plain data (paths, CPU names, table numbers) never goes in a `Marked`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marked(pub String);

impl Marked {
    pub fn new(s: impl Into<String>) -> Self {
        Marked(s.into())
    }
}

/// A table of the report: an id (the HTML anchor and the tests' handle) and its cells.
#[derive(Clone, Debug, PartialEq)]
pub struct TableBlock {
    /// `table-<name>`: unique in the report.
    pub id: String,
    pub table: TextTable,
    /// The cells carry inline marks (the tuning table's `` `key` ``s).
    pub marked: bool,
    /// Per row, a relative link for the first cell (the run table's run directories).
    pub links: Vec<Option<String>>,
}

impl TableBlock {
    pub fn new(id: &str, table: TextTable) -> Self {
        TableBlock {
            id: format!("table-{id}"),
            table,
            marked: false,
            links: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    Heading {
        level: usize,
        text: Marked,
    },
    Para(Marked),
    /// A list, optionally led by a paragraph that Markdown keeps on the line above it (the
    /// answer's "**Accuracy at convergence** (...):" followed by its items).
    List {
        lead: Option<Marked>,
        items: Vec<Marked>,
    },
    /// The setup: key → plain value, a two-column table without a header.
    Setup(Vec<(String, String)>),
    Table(TableBlock),
    Figure {
        /// `fig-<file stem>`: unique in the report.
        id: String,
        caption: String,
        /// The figure's first file (PNG when written), relative to the study directory.
        rel: PathBuf,
        /// The same, as written (absolute or relative to the working directory).
        path: PathBuf,
        /// The SVG beside it, when one was written: report.html inlines it.
        svg: Option<PathBuf>,
    },
    /// Shown in report.html only: what a browser makes useful and Markdown does not (the
    /// table of every run with links to its directory, a table of contents).
    HtmlOnly(Box<Block>),
    /// Shown in report.md only (where the HTML says it otherwise).
    MdOnly(Box<Block>),
}

/// The whole report.
#[derive(Clone, Debug, PartialEq)]
pub struct Doc {
    /// The study's name (the HTML page title).
    pub study: String,
    pub blocks: Vec<Block>,
}

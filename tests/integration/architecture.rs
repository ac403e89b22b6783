//! The architecture test: the crate's modules follow the layer order documented in
//! `docs/ARCHITECTURE.md` (section `## Layers`, read here so the two cannot drift).
//!
//! Every `.rs` file under `src/` is read (`src/bin/`, `src/main.rs` and `src/lib.rs` sit on top
//! of everything and are not checked as importers), with comments and string and character
//! literals (raw ones too) blanked out. Every path that names another part of the crate counts
//! as an import: `use crate::a::…`, `use crate::{a::…, b, c::{…}}`, inline paths such as
//! `crate::a::X` anywhere in the code, and `super::` chains, resolved against the module they
//! appear in (inline `mod x { … }` blocks included).
//!
//! The rules:
//! 1. a top-level module imports only modules of lower layers;
//! 2. modules of the same layer are siblings and do not import each other;
//! 3. every top-level module under `src/` is listed in exactly one layer;
//! 4. inside each top-level module, its direct submodules (files and folders: `engine/fetch.rs`,
//!    `engine/narrative.rs`) do not import each other in a cycle. References to the top-level
//!    module's own items (`super::CheckOutcome` defined in `engine/mod.rs`) are not edges;
//! 5. no function anywhere in `src/` (`src/bin/`, tests and nested functions included) spans
//!    more than 120 lines, from its `fn` to its closing brace, except those listed with a
//!    reason in `LONG_FUNCTIONS_ALLOWED`: a long function holds several jobs that are easier
//!    to name, read and test apart.
//!
//! Test code: imports written inside a `#[cfg(test)] mod … { … }` block (or a file declared by
//! `#[cfg(test)] mod x;`) are exempt from rules 1 and 2, since a unit test may use a higher
//! layer to build its fixtures; they are printed as notes. They still count for rule 4: a test
//! helper that makes two submodules need each other is reported like production code. Items
//! marked `#[cfg(test)]` one by one (a function, a `use`) are not exempt.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
};

/// Where the layer table lives, relative to the crate root.
const LAYERS_DOC: &str = "docs/ARCHITECTURE.md";

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// The layer table.

/// One row of the table: its number and the top-level modules it holds.
#[derive(Debug, Clone, PartialEq)]
struct Layer {
    number: u32,
    modules: Vec<String>,
}

/// The `## Layers` table of `markdown`: columns `layer | modules | owns`, modules as a
/// comma-separated list of names, in backticks or plain.
fn parse_layers(markdown: &str) -> Result<Vec<Layer>, String> {
    let section: Vec<&str> = markdown
        .lines()
        .skip_while(|l| l.trim() != "## Layers")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .collect();
    if section.is_empty() {
        return Err("no `## Layers` section".into());
    }
    let mut rows = section
        .iter()
        .map(|l| l.trim())
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(table_cells);
    let header: Vec<String> = rows
        .next()
        .ok_or("no table in `## Layers`")?
        .iter()
        .map(|c| c.to_lowercase())
        .collect();
    if header != ["layer", "modules", "owns"] {
        return Err(format!(
            "the `## Layers` table has columns {header:?}, expected layer | modules | owns"
        ));
    }
    let mut layers: Vec<Layer> = Vec::new();
    let mut seen = BTreeSet::new();
    for cells in rows.filter(|c| !c.iter().all(|c| c.chars().all(|ch| "-: ".contains(ch)))) {
        let [number, modules, _owns] = cells.as_slice() else {
            return Err(format!("row {cells:?} does not have three cells"));
        };
        let number: u32 = number
            .parse()
            .map_err(|_| format!("layer `{number}` is not a number"))?;
        if layers.last().is_some_and(|l| l.number >= number) {
            return Err(format!("layer {number} is out of order"));
        }
        let modules: Vec<String> = modules
            .split(',')
            .map(|m| m.trim().trim_matches('`').trim().to_string())
            .collect();
        for m in &modules {
            if m.is_empty() || !m.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("layer {number}: `{m}` is not a module name"));
            }
            if !seen.insert(m.clone()) {
                return Err(format!("module `{m}` is listed twice"));
            }
        }
        layers.push(Layer { number, modules });
    }
    if layers.is_empty() {
        return Err("the `## Layers` table has no rows".into());
    }
    Ok(layers)
}

fn table_cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_start_matches('|')
        .trim_end_matches('|')
        .split('|')
        .map(|c| c.trim().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Reading Rust source.

/// `source` with comments, string literals (plain, byte, C, raw) and character literals
/// replaced by spaces; line breaks are kept, so positions and line numbers do not move.
fn strip(source: &str) -> String {
    let s: Vec<char> = source.chars().collect();
    let n = s.len();
    let mut out = s.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for c in &mut out[from..to.min(n)] {
            if *c != '\n' {
                *c = ' ';
            }
        }
    };
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < n {
        let c = s[i];
        let next = s.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            let end = (i..n).find(|&j| s[j] == '\n').unwrap_or(n);
            blank(&mut out, i, end);
            i = end;
        } else if c == '/' && next == Some('*') {
            // Block comments nest.
            let (mut j, mut depth) = (i + 2, 1);
            while j < n && depth > 0 {
                if s[j] == '/' && s.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if s[j] == '*' && s.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if c == '"' {
            let mut j = i + 1;
            while j < n && s[j] != '"' {
                j += if s[j] == '\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}', b'x'), or else a lifetime or label.
            let end = if next == Some('\\') {
                (i + 3..n).find(|&j| s[j] == '\'').map(|j| j + 1)
            } else if s.get(i + 2) == Some(&'\'') && next != Some('\'') {
                Some(i + 3)
            } else {
                None
            };
            match end {
                Some(end) => {
                    blank(&mut out, i, end);
                    i = end;
                }
                None => i += 1,
            }
        } else if ident(c) {
            // Skip the whole word so a prefix inside it (the `r` of `bar`) is never a literal.
            let start = i;
            while i < n && ident(s[i]) {
                i += 1;
            }
            // ...but `r"`, `br"`, `cr#"` are raw strings, and `b"`/`c"` ordinary ones.
            let word: String = s[start..i].iter().collect();
            if matches!(word.as_str(), "r" | "br" | "cr") {
                if let Some(end) = raw_string_end(&s, i - 1) {
                    blank(&mut out, start, end);
                    i = end;
                }
            }
        } else {
            i += 1;
        }
    }
    out.into_iter().collect()
}

/// If `s[at]` is the `r` that opens a raw string (`r"…"`, `r#"…"#`), the index after its end.
fn raw_string_end(s: &[char], at: usize) -> Option<usize> {
    if s.get(at) != Some(&'r') {
        return None;
    }
    let hashes = s[at + 1..].iter().take_while(|&&c| c == '#').count();
    let open = at + 1 + hashes;
    if s.get(open) != Some(&'"') {
        return None;
    }
    let mut j = open + 1;
    while j < s.len() {
        if s[j] == '"'
            && s[j + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == '#')
                .count()
                == hashes
        {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(s.len())
}

/// A token of stripped source: a word (identifier, keyword, number), `::`, or one character.
#[derive(Debug, Clone, PartialEq)]
struct Token {
    text: String,
    line: usize,
}

fn tokens(stripped: &str) -> Vec<Token> {
    let s: Vec<char> = stripped.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < s.len() {
        let c = s[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_') {
                i += 1;
            }
            out.push(Token {
                text: s[start..i].iter().collect(),
                line,
            });
        } else if c == ':' && s.get(i + 1) == Some(&':') {
            out.push(Token {
                text: "::".into(),
                line,
            });
            i += 2;
        } else {
            out.push(Token {
                text: c.to_string(),
                line,
            });
            i += 1;
        }
    }
    out
}

/// A path named in the code, resolved from the crate root.
#[derive(Debug, Clone, PartialEq)]
struct Reference {
    /// 1-based line of the path's first segment after `crate::`/`super::`.
    line: usize,
    /// The path as written, groups expanded: `crate::engine::render_query`,
    /// `super::super::prometheus::innermost`.
    written: String,
    /// Absolute segments from the crate root: `["engine", "render_query"]`.
    path: Vec<String>,
    /// The module the reference is written in (file module plus inline modules).
    from: Vec<String>,
    /// Written inside a `#[cfg(test)]` module.
    test: bool,
}

/// What one file says: its references and the `#[cfg(test)] mod x;` declarations it makes.
#[derive(Debug, Default)]
struct FileScan {
    references: Vec<Reference>,
    test_modules: Vec<Vec<String>>,
}

/// One path of a use-tree below a prefix: its segments and the line of its first segment.
#[derive(Debug, Clone, PartialEq)]
struct Leaf {
    segments: Vec<String>,
    line: usize,
}

fn is_word(t: &Token) -> bool {
    t.text
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// The paths of the use-tree (or inline path) starting at `tokens[at]`: `a::b`, `{a, b::{c}}`,
/// `self` in a group (the prefix itself), `*`. Returns the leaves and the index after the tree.
fn use_tree(tokens: &[Token], at: usize) -> (Vec<Leaf>, usize) {
    let Some(first) = tokens.get(at) else {
        return (Vec::new(), at);
    };
    if first.text == "{" {
        let mut leaves = Vec::new();
        let mut i = at + 1;
        loop {
            match tokens.get(i).map(|t| t.text.as_str()) {
                None => return (leaves, i),
                Some("}") => return (leaves, i + 1),
                Some(",") => i += 1,
                Some(_) => {
                    let (mut item, next) = use_tree(tokens, i);
                    leaves.append(&mut item);
                    // Skip what follows an item up to its comma (`as name`), nested braces too.
                    i = next.max(i + 1);
                    let mut depth = 0;
                    while let Some(t) = tokens.get(i) {
                        match t.text.as_str() {
                            "," | "}" if depth == 0 => break,
                            "{" => depth += 1,
                            "}" => depth -= 1,
                            _ => {}
                        }
                        i += 1;
                    }
                }
            }
        }
    }
    if first.text == "*" {
        return (
            vec![Leaf {
                segments: vec!["*".into()],
                line: first.line,
            }],
            at + 1,
        );
    }
    if !is_word(first) {
        return (Vec::new(), at);
    }
    if first.text == "self" {
        return (
            vec![Leaf {
                segments: Vec::new(),
                line: first.line,
            }],
            at + 1,
        );
    }
    let more = tokens.get(at + 1).is_some_and(|t| t.text == "::")
        && tokens
            .get(at + 2)
            .is_some_and(|t| t.text == "{" || t.text == "*" || is_word(t));
    if !more {
        return (
            vec![Leaf {
                segments: vec![first.text.clone()],
                line: first.line,
            }],
            at + 1,
        );
    }
    let (rest, next) = use_tree(tokens, at + 2);
    let leaves = rest
        .into_iter()
        .map(|leaf| {
            let mut segments = vec![first.text.clone()];
            segments.extend(leaf.segments);
            Leaf {
                segments,
                line: first.line,
            }
        })
        .collect();
    (leaves, next)
}

/// Index of the `#` opening the attribute whose `]` is at `close`, and whether it is a
/// `cfg(…)` naming `test` (and not `not(…)`).
fn attribute_before(tokens: &[Token], close: usize) -> Option<(usize, bool)> {
    let mut depth = 0usize;
    let mut i = close;
    loop {
        match tokens[i].text.as_str() {
            "]" => depth += 1,
            "[" => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        i = i.checked_sub(1)?;
    }
    let hash = i.checked_sub(1).filter(|&h| tokens[h].text == "#")?;
    let body = &tokens[i + 1..close];
    let is_test = body.first().is_some_and(|t| t.text == "cfg")
        && body.iter().any(|t| t.text == "test")
        && !body.iter().any(|t| t.text == "not");
    Some((hash, is_test))
}

/// Whether the `mod` at `tokens[at]` carries `#[cfg(test)]` among its attributes.
fn has_cfg_test(tokens: &[Token], at: usize) -> bool {
    let mut i = at;
    // Visibility: `pub`, `pub(crate)`, `pub(super)`, `pub(in path)`.
    while i > 0 {
        let t = tokens[i - 1].text.as_str();
        if matches!(
            t,
            "pub" | "crate" | "super" | "self" | "in" | "::" | "(" | ")"
        ) {
            i -= 1;
        } else {
            break;
        }
    }
    while i > 0 && tokens[i - 1].text == "]" {
        match attribute_before(tokens, i - 1) {
            Some((_, true)) => return true,
            Some((hash, false)) => i = hash,
            None => return false,
        }
    }
    false
}

/// The references of one file whose module is `module` (`["engine", "fetch"]`).
fn scan_file(module: &[String], source: &str, file_is_test: bool) -> FileScan {
    let tokens = tokens(&strip(source));
    let mut scan = FileScan::default();
    // Inline modules open at this point: (name, brace depth inside them, cfg(test)).
    let mut inline: Vec<(String, usize, bool)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let text = tokens[i].text.as_str();
        let scope = |inline: &[(String, usize, bool)]| {
            let mut m = module.to_vec();
            m.extend(inline.iter().map(|(name, _, _)| name.clone()));
            m
        };
        let in_test = file_is_test || inline.iter().any(|(_, _, test)| *test);
        let after_path = i > 0 && tokens[i - 1].text == "::";
        match text {
            "{" => {
                depth += 1;
                i += 1;
            }
            "}" => {
                if inline.last().is_some_and(|(_, d, _)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            "mod" if tokens.get(i + 1).is_some_and(is_word) => {
                let name = tokens[i + 1].text.clone();
                let test = has_cfg_test(&tokens, i);
                match tokens.get(i + 2).map(|t| t.text.as_str()) {
                    Some("{") => {
                        depth += 1;
                        inline.push((name, depth, test));
                        i += 3;
                    }
                    Some(";") => {
                        if test {
                            let mut m = scope(&inline);
                            m.push(name);
                            scan.test_modules.push(m);
                        }
                        i += 3;
                    }
                    _ => i += 1,
                }
            }
            "crate" if !after_path && tokens.get(i + 1).is_some_and(|t| t.text == "::") => {
                let (leaves, next) = use_tree(&tokens, i + 2);
                for leaf in leaves {
                    scan.references.push(Reference {
                        line: leaf.line,
                        written: written("crate::", &leaf.segments),
                        path: leaf.segments,
                        from: scope(&inline),
                        test: in_test,
                    });
                }
                i = next.max(i + 1);
            }
            "super" if !after_path && tokens.get(i + 1).is_some_and(|t| t.text == "::") => {
                let mut ups = 0;
                let mut j = i;
                while tokens.get(j).is_some_and(|t| t.text == "super")
                    && tokens.get(j + 1).is_some_and(|t| t.text == "::")
                {
                    ups += 1;
                    j += 2;
                }
                let here = scope(&inline);
                let (leaves, next) = use_tree(&tokens, j);
                if ups <= here.len() {
                    let base = &here[..here.len() - ups];
                    let prefix = "super::".repeat(ups);
                    for leaf in leaves {
                        let mut path = base.to_vec();
                        path.extend(leaf.segments.iter().cloned());
                        scan.references.push(Reference {
                            line: leaf.line,
                            written: written(&prefix, &leaf.segments),
                            path,
                            from: here.clone(),
                            test: in_test,
                        });
                    }
                }
                i = next.max(j);
            }
            _ => i += 1,
        }
    }
    scan
}

fn written(prefix: &str, segments: &[String]) -> String {
    let body = segments.join("::");
    if body.is_empty() {
        prefix.trim_end_matches("::").to_string()
    } else {
        format!("{prefix}{body}")
    }
}

// ---------------------------------------------------------------------------------------------
// The crate.

/// One source file: its path relative to the crate root and its module path.
#[derive(Debug)]
struct SourceFile {
    path: String,
    module: Vec<String>,
    scan: FileScan,
}

/// Everything the rules look at.
#[derive(Debug)]
struct Crate {
    layers: Vec<Layer>,
    /// Top-level module → the file or folder that holds it.
    modules: BTreeMap<String, String>,
    /// Top-level module → its direct submodules (files and folders).
    submodules: BTreeMap<String, BTreeSet<String>>,
    files: Vec<SourceFile>,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/engine/fetch.rs` → `["engine", "fetch"]`, `src/engine/mod.rs` → `["engine"]`.
fn module_of(relative_to_src: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative_to_src
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn load(root: &Path) -> Crate {
    let doc = fs::read_to_string(root.join(LAYERS_DOC)).expect("docs/ARCHITECTURE.md");
    let layers = parse_layers(&doc).unwrap_or_else(|e| panic!("{LAYERS_DOC}: {e}"));
    let src = root.join("src");
    let mut modules = BTreeMap::new();
    let mut submodules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in fs::read_dir(&src).expect("src/") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shown = format!(
            "src/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        if path.is_dir() && name != "bin" {
            let subs = submodules.entry(name.clone()).or_default();
            for sub in fs::read_dir(&path).expect("module folder") {
                let sub = sub.expect("entry").path();
                let stem = sub.file_stem().unwrap_or_default().to_string_lossy();
                if sub.is_dir() || (sub.extension().is_some_and(|e| e == "rs") && stem != "mod") {
                    subs.insert(stem.into_owned());
                }
            }
            modules.insert(name, shown + "/");
        } else if path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "main" {
            modules.insert(name, shown);
        }
    }
    // Modules declared in lib.rs count too, wherever their source is.
    let lib = fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    let lib_tokens = tokens(&strip(&lib));
    for w in lib_tokens.windows(3) {
        if w[0].text == "mod" && is_word(&w[1]) && (w[2].text == ";" || w[2].text == "{") {
            modules
                .entry(w[1].text.clone())
                .or_insert_with(|| format!("src/lib.rs:{}", w[0].line));
        }
    }

    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    let mut files: Vec<SourceFile> = paths
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(&src).expect("under src/").to_path_buf();
            let top_file = rel.components().count() == 1;
            if rel.starts_with("bin")
                || (top_file && (rel == Path::new("lib.rs") || rel == Path::new("main.rs")))
            {
                return None;
            }
            let source = fs::read_to_string(&path).expect("source file");
            let module = module_of(&rel);
            let scan = scan_file(&module, &source, false);
            Some(SourceFile {
                path: format!("src/{}", rel.display()),
                module,
                scan,
            })
        })
        .collect();
    // Files declared by `#[cfg(test)] mod x;` are test code throughout.
    let test_modules: Vec<Vec<String>> = files
        .iter()
        .flat_map(|f| f.scan.test_modules.iter().cloned())
        .collect();
    for f in &mut files {
        if test_modules.iter().any(|t| f.module.starts_with(t)) {
            for r in &mut f.scan.references {
                r.test = true;
            }
        }
    }
    Crate {
        layers,
        modules,
        submodules,
        files,
    }
}

// ---------------------------------------------------------------------------------------------
// The rules.

/// An import that breaks rule 1 or 2.
struct Violation {
    file: String,
    line: usize,
    from: String,
    to: String,
    /// The paths written at that place that lead to `to`.
    paths: Vec<String>,
    /// `layer N, …): why`.
    rule: String,
    /// Written inside a `#[cfg(test)]` module: exempt.
    test: bool,
}

impl Violation {
    fn message(&self) -> String {
        let exempt = if self.test {
            " [exempt: #[cfg(test)] module]"
        } else {
            ""
        };
        format!(
            "{}:{} imports {} ({}{exempt}",
            self.file,
            self.line,
            self.paths.join(", "),
            self.rule
        )
    }
}

/// A reference from one top-level module to another, where it is written.
struct Import<'a> {
    file: &'a str,
    reference: &'a Reference,
    from: &'a str,
    to: &'a str,
}

impl Crate {
    fn layer_of(&self, module: &str) -> Option<&Layer> {
        self.layers
            .iter()
            .find(|l| l.modules.iter().any(|m| m == module))
    }

    /// Every reference that leaves its top-level module for another top-level module.
    fn imports(&self) -> Vec<Import<'_>> {
        let mut out = Vec::new();
        for f in &self.files {
            for r in &f.scan.references {
                let (Some(from), Some(to)) = (r.from.first(), r.path.first()) else {
                    continue;
                };
                if from != to && self.modules.contains_key(to) {
                    out.push(Import {
                        file: &f.path,
                        reference: r,
                        from,
                        to,
                    });
                }
            }
        }
        out
    }

    /// Rule 3: top-level modules that no layer lists.
    fn unlisted(&self) -> Vec<String> {
        self.modules
            .iter()
            .filter(|(m, _)| self.layer_of(m).is_none())
            .map(|(m, place)| {
                format!(
                    "{place}: module `{m}` is in no layer of {LAYERS_DOC} (## Layers): every module must be listed in exactly one layer"
                )
            })
            .collect()
    }

    /// Rules 1 and 2: every place where a module imports a higher layer or a sibling, one per
    /// file, line and imported module; test code included, marked.
    fn layer_violations(&self) -> Vec<Violation> {
        let mut found: BTreeMap<(String, usize, String), Violation> = BTreeMap::new();
        for import in self.imports() {
            let (Some(from), Some(to)) = (self.layer_of(import.from), self.layer_of(import.to))
            else {
                continue; // rule 3 reports it
            };
            let rule = if to.number > from.number {
                format!(
                    "layer {}, above {} in layer {}): a module may import only modules of lower layers",
                    to.number, import.from, from.number
                )
            } else if to.number == from.number {
                format!(
                    "layer {}, sibling of {}): {} must not import each other",
                    to.number,
                    import.from,
                    name_list(&from.modules)
                )
            } else {
                continue;
            };
            let r = import.reference;
            let shown = if r.written.starts_with("super") {
                format!("{} = crate::{}", r.written, r.path.join("::"))
            } else {
                r.written.clone()
            };
            let v = found
                .entry((import.file.to_string(), r.line, import.to.to_string()))
                .or_insert_with(|| Violation {
                    file: import.file.to_string(),
                    line: r.line,
                    from: import.from.to_string(),
                    to: import.to.to_string(),
                    paths: Vec::new(),
                    rule,
                    test: r.test,
                });
            if !v.paths.contains(&shown) {
                v.paths.push(shown);
            }
        }
        found.into_values().collect()
    }

    /// Rule 4: cycles among the direct submodules of each top-level module.
    fn submodule_cycles(&self) -> Vec<String> {
        let mut report = Vec::new();
        for (top, subs) in &self.submodules {
            // (from, to) → every place, `file:line imports path`.
            let mut edges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
            for f in self.files.iter().filter(|f| f.module.first() == Some(top)) {
                for r in &f.scan.references {
                    let (Some(a), Some(b)) = (r.from.get(1), r.path.get(1)) else {
                        continue;
                    };
                    // Only edges between two submodules; `super::CheckOutcome` (an item of
                    // the top-level module itself) is none.
                    if r.path.first() != Some(top)
                        || a == b
                        || !subs.contains(a)
                        || !subs.contains(b)
                    {
                        continue;
                    }
                    let test = if r.test { " (test code)" } else { "" };
                    let place = format!("{}:{} imports {}{test}", f.path, r.line, r.written);
                    let places = edges.entry((a.clone(), b.clone())).or_default();
                    if !places.contains(&place) {
                        places.push(place);
                    }
                }
            }
            let graph: BTreeMap<&str, BTreeSet<&str>> =
                edges.keys().fold(BTreeMap::new(), |mut g, (a, b)| {
                    g.entry(a.as_str()).or_default().insert(b.as_str());
                    g
                });
            for component in strongly_connected(&graph) {
                let cycle = shortest_cycle(&graph, &component);
                let mut text = format!(
                    "{top}: cycle {} (submodules {{{}}} depend on each other)",
                    cycle.join(" → "),
                    component.join(", ")
                );
                for a in &component {
                    for b in &component {
                        for place in edges
                            .get(&(a.to_string(), b.to_string()))
                            .into_iter()
                            .flatten()
                        {
                            let _ = write!(text, "\n    {a} → {b}: {place}");
                        }
                    }
                }
                report.push(text);
            }
        }
        report
    }
}

/// `a`, `a and b`, `a, b and c`.
fn name_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The strongly connected components of more than one node (Tarjan), each sorted.
fn strongly_connected<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(v: &'a str, g: &BTreeMap<&'a str, BTreeSet<&'a str>>, s: &mut State<'a>) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for &w in g.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(w, g, s);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for &v in graph.keys() {
        if !state.index.contains_key(v) {
            visit(v, graph, &mut state);
        }
    }
    state.out.sort();
    state.out
}

/// A shortest cycle through the first node of `component`, as `a → … → a`.
fn shortest_cycle<'a>(
    graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    component: &[&'a str],
) -> Vec<&'a str> {
    let start = component[0];
    let inside: BTreeSet<&str> = component.iter().copied().collect();
    let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in graph.get(v).into_iter().flatten() {
            if w == start {
                let mut cycle = vec![v];
                let mut at = v;
                while at != start {
                    at = previous[at];
                    cycle.push(at);
                }
                cycle.reverse();
                cycle.push(start);
                return cycle;
            }
            if inside.contains(w) && !previous.contains_key(w) {
                previous.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    component.to_vec()
}

// ---------------------------------------------------------------------------------------------
// The tests on the crate.

/// Fails with `title` and `lines` unless `lines` is empty.
fn fail_with(title: &str, lines: &[String]) {
    assert!(lines.is_empty(), "{title}:\n{}\n", lines.join("\n"));
}

#[test]
fn every_module_is_in_a_layer() {
    let krate = load(&crate_root());
    let listed_absent: Vec<&String> = krate
        .layers
        .iter()
        .flat_map(|l| &l.modules)
        .filter(|m| !krate.modules.contains_key(*m))
        .collect();
    if !listed_absent.is_empty() {
        println!("note: listed in {LAYERS_DOC} but not (yet) in src/: {listed_absent:?}");
    }
    let unlisted = krate.unlisted();
    fail_with(
        &format!(
            "{} module(s) missing from the layer table (`## Layers` in {LAYERS_DOC})",
            unlisted.len()
        ),
        &unlisted,
    );
}

#[test]
fn imports_follow_the_layer_order() {
    let krate = load(&crate_root());
    let (exempt, violations): (Vec<Violation>, Vec<Violation>) =
        krate.layer_violations().into_iter().partition(|v| v.test);
    for e in &exempt {
        println!("note: {}", e.message());
    }
    // A summary per pair of modules, then every place.
    let mut pairs: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for v in &violations {
        *pairs.entry((&v.from, &v.to)).or_default() += 1;
    }
    let mut lines: Vec<String> = pairs
        .iter()
        .map(|((from, to), n)| format!("  {from} → {to}: {n} place(s)"))
        .collect();
    lines.push(String::new());
    lines.extend(violations.iter().map(Violation::message));
    if violations.is_empty() {
        lines.clear();
    }
    fail_with(
        &format!(
            "{} imports break the layer order (`## Layers` in {LAYERS_DOC})",
            violations.len()
        ),
        &lines,
    );
}

#[test]
fn submodules_have_no_cycles() {
    let krate = load(&crate_root());
    let cycles = krate.submodule_cycles();
    fail_with(
        &format!(
            "{} cycle(s) between the submodules of a top-level module",
            cycles.len()
        ),
        &cycles,
    );
}

// ---------------------------------------------------------------------------------------------
// Function length.

/// Most lines a function may span, from the line of its `fn` to the line of its closing brace.
const MAX_FUNCTION_LINES: usize = 120;

/// Functions allowed to be longer than [`MAX_FUNCTION_LINES`]: `(file, function, why)`. Only
/// data tables and renderers that are one flat list belong here, each with its reason; an entry
/// that no longer names a long function fails the test, so the list cannot go stale.
const LONG_FUNCTIONS_ALLOWED: &[(&str, &str, &str)] = &[];

/// A function of the source: its name, the line of its `fn` and how many lines it spans.
#[derive(Debug, Clone, PartialEq)]
struct Function {
    name: String,
    line: usize,
    lines: usize,
}

/// The functions with a body in `source` (declarations ending in `;`, `fn(…)` pointer types
/// and `fn $name` in macros are not functions here), nested ones included: an inner function
/// counts in its outer one's span and on its own.
fn functions(source: &str) -> Vec<Function> {
    let tokens = tokens(&strip(source));
    let mut out = Vec::new();
    for (at, t) in tokens.iter().enumerate() {
        if t.text != "fn" || !tokens.get(at + 1).is_some_and(is_word) {
            continue;
        }
        if let Some(close) = body_end(&tokens, at + 2) {
            out.push(Function {
                name: tokens[at + 1].text.clone(),
                line: t.line,
                lines: tokens[close].line - t.line + 1,
            });
        }
    }
    out
}

/// From just after a function's name, the index of the `}` that closes its body, or `None` if
/// the signature ends in `;` first. A `;` or `{` inside the parameters or a bracket (`[u8; 4]`)
/// is not the end of the signature.
fn body_end(tokens: &[Token], from: usize) -> Option<usize> {
    let mut nesting = 0usize;
    let mut at = from;
    let open = loop {
        match tokens.get(at)?.text.as_str() {
            "(" | "[" => nesting += 1,
            ")" | "]" => nesting = nesting.saturating_sub(1),
            ";" if nesting == 0 => return None,
            "{" if nesting == 0 => break at,
            _ => {}
        }
        at += 1;
    };
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.text.as_str() {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[test]
fn functions_are_short() {
    let root = crate_root();
    let mut paths = Vec::new();
    rust_files(&root.join("src"), &mut paths);
    let mut long = Vec::new();
    let mut allowed_seen = BTreeSet::new();
    for path in paths {
        let source = fs::read_to_string(&path).expect("source file");
        let shown = path
            .strip_prefix(&root)
            .expect("under the crate root")
            .display()
            .to_string();
        for f in functions(&source) {
            if f.lines <= MAX_FUNCTION_LINES {
                continue;
            }
            match LONG_FUNCTIONS_ALLOWED
                .iter()
                .find(|(file, name, _)| *file == shown && *name == f.name)
            {
                Some((_, _, why)) => {
                    println!(
                        "note: {shown}:{}: fn {} is {} lines, allowed: {why}",
                        f.line, f.name, f.lines
                    );
                    allowed_seen.insert((shown.clone(), f.name.clone()));
                }
                None => long.push((
                    f.lines,
                    format!("  {shown}:{}: fn {} is {} lines", f.line, f.name, f.lines),
                )),
            }
        }
    }
    // Longest first: the worst offenders lead.
    long.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut lines: Vec<String> = long.into_iter().map(|(_, line)| line).collect();
    for (file, name, _) in LONG_FUNCTIONS_ALLOWED {
        if !allowed_seen.contains(&(file.to_string(), name.to_string())) {
            lines.push(format!(
                "  {file}: fn {name} is allowed to be long but is not (or is gone): take it off LONG_FUNCTIONS_ALLOWED"
            ));
        }
    }
    fail_with(
        &format!(
            "{} function(s) in src/ span more than {MAX_FUNCTION_LINES} lines (split them, or, for a data table or a renderer that is one flat list, add them to LONG_FUNCTIONS_ALLOWED with the reason)",
            lines.len()
        ),
        &lines,
    );
}

// ---------------------------------------------------------------------------------------------
// The parser's own tests.

mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn paths(module: &[&str], source: &str) -> Vec<(usize, String, bool)> {
        scan_file(&strings(module), source, false)
            .references
            .into_iter()
            .map(|r| (r.line, r.path.join("::"), r.test))
            .collect()
    }

    #[test]
    fn comments_and_literals_are_blanked_with_lines_kept() {
        let source = "a // crate::x\n/* crate::y /* nested crate::z */ still */ b\n\"crate::s\\\" q\" c\n'\"' d '\\'' e\n";
        let out = strip(source);
        assert_eq!(out.lines().count(), source.lines().count());
        assert!(!out.contains("crate"), "{out}");
        let words: Vec<String> = tokens(&out).into_iter().map(|t| t.text).collect();
        assert_eq!(words, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn raw_and_prefixed_strings_are_blanked() {
        let source = "let a = r#\"crate::x \" still\"#; let b = br\"crate::y\"; let c = r\"crate::z\";\nlet bar = 1; let r#type = 2; let d = b\"crate::w\"; crate::real::X";
        let found = paths(&["m"], source);
        assert_eq!(found, [(2, "real::X".to_string(), false)]);
        let out = strip(source);
        assert!(out.contains("bar") && out.contains("r#type"), "{out}");
    }

    #[test]
    fn lifetimes_are_not_character_literals() {
        let source = "fn f<'a>(x: &'a str) -> &'a str { crate::one::f(x) }\n'outer: loop { crate::two::g(); }";
        let found: Vec<String> = paths(&["m"], source).into_iter().map(|p| p.1).collect();
        assert_eq!(found, ["one::f", "two::g"]);
    }

    #[test]
    fn nested_use_groups_expand() {
        let source = "use crate::{\n    a::X,\n    b,\n    c::{d::Y, e as f, self},\n    g::*,\n};";
        let found = paths(&["m"], source);
        assert_eq!(
            found,
            [
                (2, "a::X".to_string(), false),
                (3, "b".to_string(), false),
                (4, "c::d::Y".to_string(), false),
                (4, "c::e".to_string(), false),
                (4, "c".to_string(), false),
                (5, "g::*".to_string(), false),
            ]
        );
    }

    #[test]
    fn inline_paths_and_turbofish_stop_at_the_last_segment() {
        let found = paths(
            &["m"],
            "let x = crate::a::B::<u8>::new(); if crate::c::f() {}",
        );
        let found: Vec<String> = found.into_iter().map(|p| p.1).collect();
        assert_eq!(found, ["a::B", "c::f"]);
    }

    #[test]
    fn super_chains_resolve_against_the_file_and_inline_modules() {
        // In src/health.rs, `super::x` is the crate's module x.
        assert_eq!(paths(&["health"], "use super::x::Y;")[0].1, "x::Y");
        // From src/engine/fetch.rs.
        let found = paths(
            &["engine", "fetch"],
            "use super::{narrative, timing::Timing, CheckOutcome};\nuse super::super::prometheus::innermost;",
        );
        let found: Vec<String> = found.into_iter().map(|p| p.1).collect();
        assert_eq!(
            found,
            [
                "engine::narrative",
                "engine::timing::Timing",
                "engine::CheckOutcome",
                "prometheus::innermost"
            ]
        );
        // Inside `mod tests` of src/health.rs, `super` is health itself; `pub(super)` is no path.
        let found = paths(
            &["health"],
            "pub(super) fn f() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use super::super::catalog;\n}\nuse super::after;",
        );
        assert_eq!(
            found,
            [
                (4, "health::*".to_string(), true),
                (5, "catalog".to_string(), true),
                (7, "after".to_string(), false),
            ]
        );
    }

    #[test]
    fn a_super_chain_above_the_crate_is_ignored() {
        assert!(paths(&["health"], "use super::super::x;").is_empty());
    }

    #[test]
    fn only_cfg_test_modules_are_test_code() {
        let source = "#[cfg(test)]\n#[allow(dead_code)]\npub(crate) mod helpers { use crate::a; }\n#[cfg(not(test))]\nmod real { use crate::b; }\n#[cfg(test)]\nfn one() { crate::c::f(); }\n#[cfg(test)]\nmod from_file;";
        let scan = scan_file(&strings(&["m"]), source, false);
        let found: Vec<(String, bool)> = scan
            .references
            .into_iter()
            .map(|r| (r.path.join("::"), r.test))
            .collect();
        assert_eq!(
            found,
            [
                ("a".to_string(), true),
                ("b".to_string(), false),
                ("c::f".to_string(), false)
            ]
        );
        assert_eq!(scan.test_modules, [strings(&["m", "from_file"])]);
    }

    #[test]
    fn the_layer_table_is_parsed_from_its_section() {
        let doc = "# X\n\n## Layers\n\nText.\n\n| layer | modules | owns |\n|---|---|---|\n| 1 | insight, `secret` | a, b (`c`) |\n| 2 | `engine`, methods | x |\n\n## Next\n| 9 | late | no |\n";
        assert_eq!(
            parse_layers(doc),
            Ok(vec![
                Layer {
                    number: 1,
                    modules: strings(&["insight", "secret"])
                },
                Layer {
                    number: 2,
                    modules: strings(&["engine", "methods"])
                },
            ])
        );
        assert!(parse_layers("## Other\n").is_err());
        let twice =
            "## Layers\n| layer | modules | owns |\n|---|---|---|\n| 1 | a | |\n| 2 | a | |\n";
        assert!(parse_layers(twice).is_err_and(|e| e.contains("twice")));
        let unordered =
            "## Layers\n| layer | modules | owns |\n|---|---|---|\n| 2 | a | |\n| 1 | b | |\n";
        assert!(parse_layers(unordered).is_err());
    }

    #[test]
    fn cycles_are_found_and_printed_in_order() {
        let mut g: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (a, b) in [
            ("fetch", "narrative"),
            ("narrative", "diagnose"),
            ("diagnose", "fetch"),
            ("narrative", "fetch"),
            ("plan", "evaluate"),
        ] {
            g.entry(a).or_default().insert(b);
        }
        let components = strongly_connected(&g);
        assert_eq!(components, [vec!["diagnose", "fetch", "narrative"]]);
        assert_eq!(
            shortest_cycle(&g, &components[0]),
            ["diagnose", "fetch", "narrative", "diagnose"]
        );
        assert_eq!(name_list(&strings(&["a", "b", "c"])), "a, b and c");
    }

    #[test]
    fn functions_are_measured_from_fn_to_closing_brace() {
        let source = "trait T {\n    fn declared(&self) -> [u8; 4];\n}\nfn outer(\n    a: [u8; 2],\n) -> fn(u8) -> u8 {\n    let s = \"}}}\";\n    let c = '{';\n    fn inner() {}\n    // }\n    macro_rules! m { () => { fn $name() {} } }\n}\nimpl X {\n    pub(crate) fn method<'a>(&'a self) where Self: Sized {\n        {\n        }\n    }\n}\n";
        let found: Vec<(String, usize, usize)> = functions(source)
            .into_iter()
            .map(|f| (f.name, f.line, f.lines))
            .collect();
        assert_eq!(
            found,
            [
                ("outer".to_string(), 4, 9),
                ("inner".to_string(), 9, 1),
                ("method".to_string(), 14, 4),
            ]
        );
    }
}

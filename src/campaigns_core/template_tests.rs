use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const ALLOWED: &[&str] = &["first_name", "last_name", "unsubscribe_url", "city", "vip", "org.name"];

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn render(src: &str, pairs: &[(&str, &str)], mode: Mode) -> String {
    let map = vars(pairs);
    parse(src, ALLOWED)
        .expect("valid template")
        .render(&|k| map.get(k).cloned(), mode)
}

/// The (line, column, message) of every error for `src`.
fn errors(src: &str) -> Vec<(usize, usize, String)> {
    parse(src, ALLOWED)
        .expect_err("invalid template")
        .into_iter()
        .map(|e| (e.line, e.column, e.message))
        .collect()
}

/// Asserts exactly one error at (line, column) whose message contains `needle`.
fn one_error(src: &str, line: usize, column: usize, needle: &str) {
    let errs = errors(src);
    assert_eq!(errs.len(), 1, "{src:?}: {errs:?}");
    assert_eq!((errs[0].0, errs[0].1), (line, column), "{src:?}: {errs:?}");
    assert!(errs[0].2.contains(needle), "{src:?}: {errs:?}");
}

#[test]
fn inserts_variables_with_optional_whitespace() {
    let out = render(
        "Hi {{first_name}} {{ last_name }}{{  city\t}}!",
        &[("first_name", "Ann"), ("last_name", "Lee")],
        Mode::Text,
    );
    assert_eq!(out, "Hi Ann Lee!");
}

#[test]
fn default_used_when_missing_or_blank() {
    let src = r#"Dear {{ first_name | default: "friend" }},"#;
    assert_eq!(render(src, &[], Mode::Text), "Dear friend,");
    assert_eq!(render(src, &[("first_name", "")], Mode::Text), "Dear friend,");
    assert_eq!(render(src, &[("first_name", "  ")], Mode::Text), "Dear friend,");
    assert_eq!(render(src, &[("first_name", "Bo")], Mode::Text), "Dear Bo,");
    assert_eq!(
        render(r#"{{city|default:"a \"b\" \\ | c"}}"#, &[], Mode::Text),
        r#"a "b" \ | c"#
    );
    assert_eq!(render(r#"{{city | default: ""}}x"#, &[], Mode::Text), "x");
}

#[test]
fn if_else_and_nesting() {
    let src = "{{#if vip}}VIP{{#if city}} in {{city}}{{else}} somewhere{{/if}}{{else}}regular{{/if}}.";
    assert_eq!(
        render(src, &[("vip", "yes"), ("city", "York")], Mode::Text),
        "VIP in York."
    );
    assert_eq!(render(src, &[("vip", "yes")], Mode::Text), "VIP somewhere.");
    assert_eq!(render(src, &[("vip", " "), ("city", "York")], Mode::Text), "regular.");
    assert_eq!(render("{{ #if vip }}a{{ /if }}b", &[], Mode::Text), "b");
    let deep = format!(
        "{}x{}",
        "{{#if vip}}".repeat(MAX_NESTING),
        "{{/if}}".repeat(MAX_NESTING)
    );
    assert_eq!(render(&deep, &[("vip", "1")], Mode::Text), "x");
}

#[test]
fn variables_and_uses() {
    let t = parse(
        "{{#if vip}}{{ city }}{{/if}}{{city}}{{ unsubscribe_url }}{{org.name}}",
        ALLOWED,
    )
    .unwrap();
    assert_eq!(t.variables(), vec!["city", "org.name", "unsubscribe_url", "vip"]);
    assert!(t.uses("unsubscribe_url"));
    assert!(!t.uses("first_name"));
    assert!(parse("plain", ALLOWED).unwrap().variables().is_empty());
}

#[test]
fn html_mode_escapes_values_not_template_text() {
    let src = r#"<p class="x">{{first_name}} {{ city | default: "<b>&'\"" }}</p>"#;
    let out = render(src, &[("first_name", "<script>alert('x')</script>")], Mode::Html);
    assert_eq!(
        out,
        r#"<p class="x">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &lt;b&gt;&amp;&#39;&quot;</p>"#
    );
    assert_eq!(
        render("{{first_name}}", &[("first_name", "<script>")], Mode::Text),
        "<script>"
    );
    assert_eq!(escape_html(r#"a&b<c>d"e'f"#), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
}

#[test]
fn header_mode_blocks_header_injection() {
    let src = "  Hello {{first_name}}\r\n!  ";
    let out = render(
        src,
        &[("first_name", "Ann\r\nBcc: evil@example.com\u{7}\u{2028}x")],
        Mode::Header,
    );
    assert_eq!(out, "Hello Ann  Bcc: evil@example.com  x  !");
    assert!(!out.contains(['\r', '\n']));
    let long = render("{{first_name}}", &[("first_name", &"é".repeat(1000))], Mode::Header);
    assert_eq!(long.len(), 998);
    assert!(long.chars().all(|c| c == 'é'));
}

#[test]
fn output_is_capped() {
    let big = "<".repeat(MAX_OUTPUT_BYTES);
    let out = render(
        "a{{first_name}}b{{city}}",
        &[("first_name", &big), ("city", "x")],
        Mode::Html,
    );
    assert!(out.len() <= MAX_OUTPUT_BYTES && out.len() > MAX_OUTPUT_BYTES - 8);
    assert!(out.starts_with("a&lt;") && out.ends_with("&lt;"));
    let multi = "€".repeat(MAX_OUTPUT_BYTES);
    let out = render("{{first_name}}", &[("first_name", &multi)], Mode::Text);
    assert!(out.len() <= MAX_OUTPUT_BYTES && out.len() > MAX_OUTPUT_BYTES - 3);
}

#[test]
fn each_error_kind_with_position() {
    one_error("ab\n  {{{first_name}}}", 2, 3, "`{{{`");
    one_error("x {{ first_name", 1, 3, "unclosed tag");
    one_error("{{ first_name {{city}}", 1, 1, "unclosed tag");
    one_error("é {{ }}", 1, 3, "empty tag");
    one_error("{{ email }}", 1, 1, "unknown variable `email`");
    one_error("{{ First_Name }}", 1, 1, "unknown variable");
    one_error("{{ first name }}", 1, 1, "invalid variable name");
    one_error("{{ lookup(city) }}", 1, 1, "invalid variable name");
    one_error("{{#each city}}", 1, 1, "unknown tag");
    one_error("{{> partial}}", 1, 1, "unknown tag");
    one_error("{{! comment }}", 1, 1, "unknown tag");
    one_error("{{#iffy city}}", 1, 1, "unknown tag");
    one_error("{{city | upper}}", 1, 1, "unknown filter");
    one_error("{{city | default \"x\"}}", 1, 1, "expected `:`");
    one_error("{{city | default: x}}", 1, 1, "double-quoted");
    one_error("{{city | default: \"x}}", 1, 1, "unterminated");
    one_error("{{city | default: \"x\" y}}", 1, 1, "unexpected text");
    one_error("{{city | default: \"\\n\"}}", 1, 1, "invalid escape");
    one_error("a\nb {{else}}", 2, 3, "outside");
    one_error("{{/if}}", 1, 1, "without");
    one_error("{{/each}}", 1, 1, "unknown closing tag");
    one_error("{{#if vip}}a{{else}}b{{else}}c{{/if}}", 1, 22, "second `{{else}}`");
    one_error("x\n {{#if vip}}a", 2, 2, "never closed");
    one_error("{{#if}}{{/if}}", 1, 1, "needs a variable name");
    one_error("{{#if vip | default: \"x\"}}{{/if}}", 1, 1, "no filter");
    one_error("{{#if nope}}{{/if}}", 1, 1, "unknown variable `nope`");
    let deep = format!(
        "{}{}",
        "{{#if vip}}".repeat(MAX_NESTING + 1),
        "{{/if}}".repeat(MAX_NESTING + 1)
    );
    one_error(&deep, 1, 1 + 11 * MAX_NESTING, "nested deeper than 8");
    let huge = "a".repeat(MAX_SOURCE_BYTES + 1);
    one_error(&huge, 1, 1, "limit");
    assert!(parse(&huge[1..], ALLOWED).is_ok());
}

#[test]
fn reports_all_errors_sorted() {
    let errs = errors("{{#if vip}}\n{{ email }} {{ phone }}\n{{else}}{{#each x}}");
    let at: Vec<_> = errs.iter().map(|e| (e.0, e.1)).collect();
    assert_eq!(at, vec![(1, 1), (2, 1), (2, 13), (3, 9)]);
    assert!(errs[0].2.contains("never closed"));
    let many = errors(&"{{ nope }}".repeat(1000));
    assert_eq!(many.len(), MAX_ERRORS + 1);
    assert!(many[MAX_ERRORS].2.contains("too many errors"));
}

#[test]
fn error_serializes_and_displays() {
    let e = parse("{{ nope }}", ALLOWED).unwrap_err().remove(0);
    assert_eq!(e.to_string(), "line 1, column 1: unknown variable `nope`");
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"line": 1, "column": 1, "message": "unknown variable `nope`"})
    );
}

#[test]
fn stray_braces_are_text() {
    assert_eq!(render("a } }} {b} {", &[], Mode::Html), "a } }} {b} {");
    assert_eq!(render("{{city}}}", &[("city", "x")], Mode::Text), "x}");
}

fn literal() -> impl Strategy<Value = String> {
    "[^<>&\"'{}]{0,12}"
}

/// A valid template over ALLOWED: literal text free of `<`, tags, defaults and nested ifs.
fn template() -> impl Strategy<Value = String> {
    let name = proptest::sample::select(ALLOWED.to_vec());
    let leaf = prop_oneof![
        literal(),
        name.clone().prop_map(|n| format!("{{{{ {n} }}}}")),
        (name, any::<String>()).prop_map(|(n, d)| {
            let d = d.replace(['{', '}'], "").replace('\\', "\\\\").replace('"', "\\\"");
            format!("{{{{{n}|default:\"{d}\"}}}}")
        }),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        (
            proptest::sample::select(ALLOWED.to_vec()),
            prop::collection::vec(inner.clone(), 0..4),
            prop::collection::vec(inner, 0..4),
        )
            .prop_map(|(n, a, b)| format!("{{{{#if {n}}}}}{}{{{{else}}}}{}{{{{/if}}}}", a.concat(), b.concat()))
    })
}

proptest! {
    #[test]
    fn parse_never_panics(s in any::<String>()) {
        let _ = parse(&s, ALLOWED);
    }

    #[test]
    fn parse_never_panics_on_tag_soup(s in "([{}#/|:\"\\\\ \n]|if|else|default|city|vip|é){0,80}") {
        if let Ok(t) = parse(&s, ALLOWED) {
            let _ = t.render(&|k| Some(k.to_string()), Mode::Header);
        }
    }

    #[test]
    fn html_values_are_escaped(src in template(), values in prop::collection::vec(any::<String>(), ALLOWED.len())) {
        let t = parse(&src, ALLOWED).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let lookup = |k: &str| ALLOWED.iter().position(|a| *a == k).and_then(|i| values.get(i).cloned());
        let out = t.render(&lookup, Mode::Html);
        prop_assert!(!out.contains(['<', '>', '"', '\'']), "{}", out);
        let header = t.render(&lookup, Mode::Header);
        prop_assert!(header.len() <= MAX_HEADER_BYTES && !header.contains(|c: char| c.is_control()));
        prop_assert_eq!(header.trim(), header.as_str());
    }

    #[test]
    fn text_without_tags_renders_to_itself(s in any::<String>()) {
        prop_assume!(!s.contains("{{"));
        let t = parse(&s, ALLOWED).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(t.render(&|_| Some("<x>".into()), Mode::Html), s.clone());
        prop_assert_eq!(t.render(&|_| None, Mode::Text), s);
        prop_assert!(t.variables().is_empty());
    }
}

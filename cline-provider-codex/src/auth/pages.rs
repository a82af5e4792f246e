//! The pages the callback server shows in the browser.
//!
//! Self-contained: inline CSS, no script, no fonts, images or other requests (the machine may
//! be offline, and nothing on the page should learn the callback URL). Any text from the
//! request or the issuer is HTML-escaped before it is shown.

/// The page after a successful sign-in.
pub(crate) fn success(email: Option<&str>) -> String {
    let who = match email {
        Some(email) => format!("<p>Signed in as <strong>{}</strong>.</p>", escape(email)),
        None => String::new(),
    };
    page(
        "Signed in to OpenAI Codex",
        "✓",
        "ok",
        &format!("{who}<p>You can close this tab and return to the application.</p>"),
    )
}

/// The page after a failed sign-in: `title` and `detail` are plain text.
pub(crate) fn failure(title: &str, detail: &str) -> String {
    page(
        title,
        "!",
        "err",
        &format!(
            "<p>{}</p><p class=\"muted\">You can close this tab. Start the sign-in again from \
             the application to retry.</p>",
            escape(detail)
        ),
    )
}

/// The answer to a path the server does not serve.
pub(crate) fn not_found() -> String {
    page(
        "Not found",
        "?",
        "err",
        "<p>This address only serves the OpenAI sign-in callback.</p>",
    )
}

fn page(title: &str, mark: &str, class: &str, body: &str) -> String {
    let title = escape(title);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>
  :root {{ color-scheme: light dark; }}
  body {{ margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center;
         font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         background: Canvas; color: CanvasText; }}
  main {{ max-width: 32rem; padding: 2rem; text-align: center; }}
  .mark {{ width: 3.5rem; height: 3.5rem; margin: 0 auto 1rem; border-radius: 50%;
          display: flex; align-items: center; justify-content: center;
          font-size: 2rem; font-weight: bold; color: #fff; }}
  .ok {{ background: #10a37f; }}
  .err {{ background: #d14343; }}
  h1 {{ font-size: 1.4rem; margin: 0 0 .75rem; }}
  .muted {{ opacity: .7; font-size: .9rem; }}
</style>
</head>
<body>
<main>
<div class="mark {class}" aria-hidden="true">{mark}</div>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"#
    )
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_outside_is_escaped() {
        let page = failure("Sign-in failed", "<script>alert('x')</script> & \"more\"");
        assert!(!page.contains("<script>"));
        assert!(
            page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;")
        );
        assert!(success(Some("<b>@x")).contains("&lt;b&gt;@x"));
    }

    #[test]
    fn pages_load_nothing_from_elsewhere() {
        for page in [success(Some("a@b.c")), failure("t", "d"), not_found()] {
            let lower = page.to_ascii_lowercase();
            for needle in [
                "http://", "https://", "<script", "<img", "<link", "@import", "url(",
            ] {
                assert!(!lower.contains(needle), "{needle} in page");
            }
        }
    }
}

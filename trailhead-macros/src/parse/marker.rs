//! Marks every `step …` and `call …` in a body before it is parsed, so that a step
//! may stand anywhere an expression may: `total += step price(&item);`,
//! `if step is_ready(id) { … }`, `Ok(step finish())`.
//!
//! Rust's grammar has no prefix keyword `step`, so syn cannot parse one inside an
//! expression. The marker rewrites `step f(a).retry(3)` into
//! `__trailhead_site! { step f(a).retry(3) }`, a macro call syn parses anywhere;
//! the parser then reads the marker's tokens back as a [`Step`](super::Step) or
//! [`Call`](super::Call). The marker's name carries the keyword's span, so errors
//! still point at the user's `step`.

use proc_macro2::{Delimiter, Group, Ident, Punct, Spacing, TokenStream, TokenTree};
use syn::Token;

use crate::kw;

/// The name of the marker macro. It never reaches the compiler.
pub(crate) const MARKER: &str = "__trailhead_site";

/// Rewrites every `step`/`call` chain in `tokens`, nested groups included.
pub(crate) fn mark_sites(tokens: TokenStream) -> TokenStream {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if starts_site(&tokens, i) {
            let end = match (&tokens[i], tokens.get(i + 1)) {
                // `sleep 5s`: the literal is the whole of it.
                (word, Some(TokenTree::Literal(_))) if kw::is(word, kw::sleep) => i + 2,
                // `signal "name"`, perhaps `.timeout(..)`.
                (word, Some(TokenTree::Literal(_))) if kw::is(word, kw::signal) => {
                    match (tokens.get(i + 2), tokens.get(i + 3), tokens.get(i + 4)) {
                        (
                            Some(TokenTree::Punct(dot)),
                            Some(TokenTree::Ident(_)),
                            Some(TokenTree::Group(group)),
                        ) if dot.as_char() == '.'
                            && group.delimiter() == Delimiter::Parenthesis =>
                        {
                            i + 5
                        }
                        _ => i + 2,
                    }
                }
                _ => chain_end(&tokens, i + 1),
            };
            let keyword_span = tokens[i].span();
            // Sites inside the chain's own arguments are marked too, so that the step
            // parser can say they are not allowed there.
            let mut inner = TokenStream::from(tokens[i].clone());
            inner.extend(mark_sites(tokens[i + 1..end].iter().cloned().collect()));
            out.push(TokenTree::Ident(Ident::new(MARKER, keyword_span)));
            let mut bang = Punct::new('!', Spacing::Alone);
            bang.set_span(keyword_span);
            out.push(TokenTree::Punct(bang));
            let mut group = Group::new(Delimiter::Brace, inner);
            group.set_span(keyword_span);
            out.push(TokenTree::Group(group));
            i = end;
            continue;
        }
        out.push(match &tokens[i] {
            TokenTree::Group(group) => {
                let mut rewritten = Group::new(group.delimiter(), mark_sites(group.stream()));
                rewritten.set_span(group.span());
                TokenTree::Group(rewritten)
            }
            other => other.clone(),
        });
        i += 1;
    }
    out.into_iter().collect()
}

/// `step` or `call` used as the keyword: followed by a name, and not a method or
/// path segment (`x.step(..)`, `Self::call`) or a function's own name (`fn step`).
fn starts_site(tokens: &[TokenTree], i: usize) -> bool {
    if !kw::starts_site(&tokens[i]) {
        return false;
    }
    // `step f(..)` and `step blocking ..`; also `step;` and `step 5`, which can only
    // be a step missing its call (the parser says so). `f(step)` is a variable.
    match tokens.get(i + 1) {
        Some(TokenTree::Ident(_) | TokenTree::Literal(_)) => {}
        Some(TokenTree::Punct(p)) if p.as_char() == ';' => {}
        _ => return false,
    }
    match i.checked_sub(1).map(|p| &tokens[p]) {
        Some(TokenTree::Punct(p)) if p.as_char() == '.' || p.as_char() == ':' => false,
        Some(prev) if kw::is(prev, Token![fn]) => false,
        _ => true,
    }
}

/// Where a chain such as `blocking path::f::<T>(a).retry(3).timeout(5s)` ends: after
/// its last parenthesized group that no `.name` follows.
fn chain_end(tokens: &[TokenTree], mut i: usize) -> usize {
    let mut last_call_end = None;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Ident(_) => i += 1,
            TokenTree::Punct(p) if p.as_char() == ':' => i += 1,
            TokenTree::Punct(p) if p.as_char() == '<' => i = angle_end(tokens, i),
            TokenTree::Punct(p) if p.as_char() == '.' => {
                if !matches!(tokens.get(i + 1), Some(TokenTree::Ident(_))) {
                    break;
                }
                i += 1;
            }
            TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis => {
                i += 1;
                last_call_end = Some(i);
                if !matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == '.') {
                    break;
                }
            }
            _ => break,
        }
    }
    // Without any call the parser reports what is missing; take the words seen.
    let Some(mut end) = last_call_end else {
        return i;
    };
    // A trailing `.await` or `?` is taken in, for the parser to explain it is not needed.
    loop {
        match (tokens.get(end), tokens.get(end + 1)) {
            (Some(TokenTree::Punct(dot)), Some(word))
                if dot.as_char() == '.' && kw::is(word, Token![await]) =>
            {
                end += 2;
            }
            (Some(TokenTree::Punct(question)), _) if question.as_char() == '?' => end += 1,
            _ => return end,
        }
    }
}

/// Skips a turbofish's `<…>`, nested ones included.
fn angle_end(tokens: &[TokenTree], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < tokens.len() {
        if let TokenTree::Punct(p) = &tokens[i] {
            match p.as_char() {
                '<' => depth += 1,
                '>' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    i
}

/// Whether `mac` is a marker, i.e. `__trailhead_site! { … }`.
pub(crate) fn is_marker(mac: &syn::Macro) -> bool {
    mac.path.is_ident(MARKER)
}

/// The inverse of [`mark_sites`], for showing code to people (diagram labels).
pub(crate) fn unmark(tokens: TokenStream) -> TokenStream {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if let (
            TokenTree::Ident(ident),
            Some(TokenTree::Punct(bang)),
            Some(TokenTree::Group(group)),
        ) = (&tokens[i], tokens.get(i + 1), tokens.get(i + 2))
            && ident == MARKER
            && bang.as_char() == '!'
        {
            out.extend(unmark(group.stream()));
            i += 3;
            continue;
        }
        out.push(match &tokens[i] {
            TokenTree::Group(group) => {
                let mut plain = Group::new(group.delimiter(), unmark(group.stream()));
                plain.set_span(group.span());
                TokenTree::Group(plain)
            }
            other => other.clone(),
        });
        i += 1;
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::mark_sites;

    fn marked(tokens: proc_macro2::TokenStream) -> String {
        mark_sites(tokens).to_string()
    }

    #[test]
    fn chains_are_wrapped_wherever_they_stand() {
        assert_eq!(
            marked(quote!(total += step price(&item).retry(3).timeout(5s);)),
            quote!(total += __trailhead_site! { step price(&item).retry(3).timeout(5s) };)
                .to_string()
        );
        assert_eq!(
            marked(quote!(if step ready(id) { Ok(call finish(id)) })),
            quote!(if __trailhead_site! { step ready(id) } {
                Ok(__trailhead_site! { call finish(id) })
            })
            .to_string()
        );
        assert_eq!(
            marked(quote!(let x = step blocking api.fetch::<u8>(1).0;)),
            quote!(let x = __trailhead_site! { step blocking api.fetch::<u8>(1) }.0;).to_string()
        );
    }

    #[test]
    fn other_uses_of_the_words_are_left_alone() {
        let plain = quote!(let step = 1; x.step(2); Self::call(3); fn call(a: u8) {} step + 1;);
        assert_eq!(marked(plain.clone()), plain.to_string());
    }
}

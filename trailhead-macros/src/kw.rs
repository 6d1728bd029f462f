//! The words of the workflow language. Keywords are tokens, never compared as strings.

syn::custom_keyword!(workflow);
syn::custom_keyword!(step);
syn::custom_keyword!(call);
syn::custom_keyword!(blocking);
syn::custom_keyword!(parallel);
syn::custom_keyword!(limit);
syn::custom_keyword!(collect_all);
syn::custom_keyword!(sequential);
syn::custom_keyword!(sleep);
syn::custom_keyword!(signal);

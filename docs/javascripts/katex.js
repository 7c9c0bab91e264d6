// Renders the pages' maths (pymdownx.arithmatex, generic mode) with the KaTeX served by the site
// itself (docs/assets/katex/): no CDN, so the site builds and reads offline. Material's
// document$ fires on every page, instant navigation included.
document$.subscribe(({ body }) => {
  renderMathInElement(body, {
    delimiters: [
      { left: "\\(", right: "\\)", display: false },
      { left: "\\[", right: "\\]", display: true },
    ],
    throwOnError: false,
  });
});

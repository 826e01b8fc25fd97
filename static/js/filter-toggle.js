// The list's filter panel on small screens (up to 768 px): hidden until the
// "Filter" button opens it over the page; "Close", Escape or a wider window
// close it and focus goes back to the button.
//
// Without this script the same controls are links: "Filter" goes to #filters,
// which CSS shows (:target), and "Close" goes back to the results. This script
// swaps each link for a button with the same look and text, and marks the
// layout so the CSS follows the buttons instead of the address.

const DESKTOP = window.matchMedia("(min-width: 48.0625em)"); // GOV.UK's desktop breakpoint

function swapForButton(link, attributes) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = link.className;
  button.innerHTML = link.innerHTML;
  for (const [name, value] of Object.entries(attributes)) {
    button.setAttribute(name, value);
  }
  link.replaceWith(button);
  return button;
}

function setUp(layout) {
  const panel = layout.querySelector(".moj-filter-layout__filter");
  const toggleLink = layout.querySelector("[data-app-filter-toggle]");
  const closeLink = layout.querySelector("[data-app-filter-close]");
  const heading = panel && panel.querySelector("#filters-heading");
  if (!panel || !toggleLink || !closeLink || !heading) return;

  const toggle = swapForButton(toggleLink, {
    "aria-controls": panel.id,
    "aria-expanded": "false",
  });
  const close = swapForButton(closeLink, { "aria-controls": panel.id });
  layout.classList.add("app-filter-layout--js");

  // While the panel covers the screen, the page behind it takes no focus and
  // is out of the accessibility tree: everything but the panel's own branch.
  let madeInert = [];

  function open() {
    panel.classList.add("app-filter--open");
    toggle.setAttribute("aria-expanded", "true");
    for (let node = panel; node && node !== document.body; node = node.parentElement) {
      for (const sibling of node.parentElement.children) {
        if (sibling !== node && !sibling.inert && sibling.tagName !== "SCRIPT") {
          sibling.inert = true;
          madeInert.push(sibling);
        }
      }
    }
    heading.focus();
  }

  function shut(returnFocus) {
    if (!panel.classList.contains("app-filter--open")) return;
    panel.classList.remove("app-filter--open");
    toggle.setAttribute("aria-expanded", "false");
    for (const node of madeInert) node.inert = false;
    madeInert = [];
    if (returnFocus) toggle.focus();
  }

  toggle.addEventListener("click", () => {
    if (panel.classList.contains("app-filter--open")) shut(true);
    else open();
  });
  close.addEventListener("click", () => shut(true));
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") shut(true);
  });
  // The error summary links to fields in the panel: open it first, so the link (and
  // GOV.UK's error summary script, which focuses the field) finds them shown.
  document.addEventListener(
    "click",
    (event) => {
      const link = event.target.closest(".govuk-error-summary a[href^='#']");
      const field = link && document.getElementById(link.hash.slice(1));
      if (field && panel.contains(field) && !DESKTOP.matches) {
        if (!panel.classList.contains("app-filter--open")) open();
        field.focus();
      }
    },
    true,
  );
  // On a wide screen the panel is always shown beside the results.
  DESKTOP.addEventListener("change", () => shut(false));
  // An address ending #filters (the link's, bookmarked) opens it.
  if (window.location.hash === "#filters" && !DESKTOP.matches) open();
}

for (const layout of document.querySelectorAll("[data-app-filter-layout]")) {
  setUp(layout);
}

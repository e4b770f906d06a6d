// A figure in a cell's output opens at its full size: click it (or focus it and press Enter or
// Space); click again, press Escape or use the close button to return. The page scales wide
// figures down to the text column, and this is how a reader sees every label at its drawn size.
(function () {
  "use strict";
  var SELECTOR = ".cell_output img";

  function close(overlay, opener) {
    overlay.remove();
    document.body.classList.remove("vaelib-zoom-open");
    if (opener) opener.focus();
  }

  function open(img) {
    var overlay = document.createElement("div");
    overlay.className = "vaelib-zoom";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-label", "Figure at full size");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "vaelib-zoom-close";
    button.setAttribute("aria-label", "Close the full-size figure");
    button.textContent = "×";
    var big = document.createElement("img");
    big.src = img.currentSrc || img.src;
    big.alt = img.alt || "figure at full size";
    overlay.appendChild(button);
    overlay.appendChild(big);
    overlay.addEventListener("click", function () { close(overlay, img); });
    overlay.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); close(overlay, img); }
    });
    document.body.appendChild(overlay);
    document.body.classList.add("vaelib-zoom-open");
    button.focus();
  }

  function prepare(img) {
    if (img.dataset.vaelibZoom) return;
    img.dataset.vaelibZoom = "1";
    img.tabIndex = 0;
    img.setAttribute("role", "button");
    img.title = "Show the figure at full size";
    img.addEventListener("click", function () { open(img); });
    img.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(img); }
    });
  }

  function init() { document.querySelectorAll(SELECTOR).forEach(prepare); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

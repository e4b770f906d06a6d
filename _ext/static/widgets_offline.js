// Prepares a page for the Jupyter widget manager served from this site (see _ext/offline_assets.py).
// Loaded after require.js and before the manager's embed-amd.js on pages that embed widget state.
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script.src.slice(0, script.src.lastIndexOf("/") + 1); // absolute URL of _static/npm/

  // 1. Resolve the manager's AMD module names to the local copy: its bundled icon fonts are then
  //    fetched from beside embed-amd.js instead of from a folder next to the page.
  window.require.config({ paths: { "@jupyter-widgets/html-manager": base + "html-manager" } });

  // 1b. anywidget (vaelib's decoding widgets): the manager asks RequireJS for the module "anywidget";
  //     map that name to the AMD build served from this site (pinned and checked in offline_assets.py),
  //     whatever version the widget state names. A map applies before the CDN path set in step 2.
  window.require.config({
    map: { "*": { anywidget: "vaelib-anywidget" } },
    paths: { "vaelib-anywidget": base + "anywidget/index" },
  });

  // 2. A widget module the manager does not bundle would be fetched from a CDN: point that at this
  //    site instead, so such a (missing) module fails visibly rather than leaving the site.
  script.setAttribute("data-jupyter-widgets-cdn", base + "widget-modules/");
  script.setAttribute("data-jupyter-widgets-cdn-only", "");

  // 3. ipywidgets typesets labels with MathJax 2's MathJax.Hub.Queue; the book loads MathJax 3.
  function typesetLater(mj, element) {
    var ready = mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
    ready.then(function () { return mj.typesetPromise([element]); }).catch(function (err) {
      console.warn("MathJax could not typeset a widget label", err);
    });
  }
  function installHubShim() {
    var mj = window.MathJax;
    if (!mj || !mj.version || mj.Hub) return;
    mj.Hub = {
      Queue: function () {
        for (var i = 0; i < arguments.length; i++) {
          var job = arguments[i];
          if (Array.isArray(job) && job[0] === "Typeset" && job[2]) typesetLater(mj, job[2]);
        }
      },
    };
  }
  installHubShim();
  document.addEventListener("DOMContentLoaded", installHubShim);
})();

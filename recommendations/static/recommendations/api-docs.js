/* The tracker's additions to Swagger UI on the API docs (/api/docs/). Loaded from the tracker itself,
   after Swagger UI's bundle and before drf-spectacular's start-up script, so the page's
   Content-Security-Policy allows it with no inline code. */
(function () {
  "use strict";

  // Swagger UI shows each operation's path as a link inside the button that opens the operation: a
  // control inside a control, which a keyboard reaches twice and a screen reader may not announce.
  // The path is shown as plain text instead; deep linking still works (opening an operation puts its
  // address in the location bar, and that address opens it again).
  function PathAsText(system) {
    var h = system.React.createElement;
    return {
      components: {
        DeepLink: function (props) {
          return h("span", { className: "nostyle" }, h("span", null, props.text));
        },
      },
    };
  }

  // drf-spectacular's start-up script calls SwaggerUIBundle(options) with its own plugins: add ours.
  // Examples and responses are shown as plain text, white on dark grey: the syntax colours of
  // Swagger UI's themes fall below 4.5:1 for some tokens. Settings given to drf-spectacular win.
  var bundle = window.SwaggerUIBundle;
  if (typeof bundle !== "function") {
    return;
  }
  window.SwaggerUIBundle = Object.assign(function (options) {
    var plugins = (options && options.plugins) || [];
    return bundle(
      Object.assign({ syntaxHighlight: { activated: false } }, options, { plugins: plugins.concat([PathAsText]) })
    );
  }, bundle);

  // Swagger UI's fields for a parameter have no label, and its scrolling code blocks cannot be reached
  // by keyboard. As Swagger UI draws them, each field is named after its parameter and each code block
  // made focusable, so that it can be scrolled with the arrow keys. React leaves alone the attributes
  // it did not set, so they stay until Swagger UI draws the element anew (and the observer runs again).
  function hasName(field) {
    return (
      field.hasAttribute("aria-label") ||
      field.hasAttribute("aria-labelledby") ||
      field.closest("label") !== null ||
      (field.id && document.querySelector('label[for="' + CSS.escape(field.id) + '"]') !== null)
    );
  }

  function nameFor(field) {
    var row = field.closest("tr[data-param-name]");
    if (row) {
      var name = row.getAttribute("data-param-name");
      return field.classList.contains("examples-select-element") ? "Examples for " + name : name;
    }
    if (field.closest(".body-param")) {
      return "Request body";
    }
    return null;
  }

  function label(root) {
    root.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (field) {
      if (!hasName(field)) {
        var name = nameFor(field);
        if (name) {
          field.setAttribute("aria-label", name);
        }
      }
    });
    // A button's spoken name holds the words it shows (the sign-in dialogue's "Authorize" was
    // named "Apply credentials"), and the dialogue's close button, an icon, has a name at all.
    root.querySelectorAll("button[aria-label]").forEach(function (button) {
      var shown = button.textContent.trim();
      var named = button.getAttribute("aria-label");
      if (shown && named.toLowerCase().indexOf(shown.toLowerCase()) === -1) {
        button.setAttribute("aria-label", shown + " (" + named.toLowerCase() + ")");
      }
    });
    root.querySelectorAll("button.close-modal:not([aria-label])").forEach(function (button) {
      button.setAttribute("aria-label", "Close");
    });
    root.querySelectorAll("pre.microlight, .highlight-code > pre").forEach(function (block) {
      if (!block.hasAttribute("tabindex")) {
        block.setAttribute("tabindex", "0");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("swagger-ui");
    if (!root) {
      return;
    }
    label(root);
    new MutationObserver(function () {
      label(root);
    }).observe(root, { childList: true, subtree: true });
  });
})();

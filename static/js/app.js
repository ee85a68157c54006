// Site-wide behaviour, kept out of the HTML so the Content-Security-Policy can forbid inline script.
//   data-confirm="Question?"  on a form or button: ask before submitting.
//   data-autosubmit           on a select or checkbox: submit its form when it changes.
//   data-print                on a button: print the page.
//   data-width="42"           on an element: set its width to 42%.
//   data-shade="0.35"         on a cell: tint its background by that much of the brand colour.
//   data-clamp                on a block: shown two lines high, with a "more" button when it holds more.
//   data-scroll-row           on a row of choices that scrolls sideways on a phone: the [aria-current] one is
//                             scrolled into sight.
//   class="table-stack"       on a table: below 576 px each row becomes a card, each cell labelled with its
//                             column's heading (copied here into data-label; app.css draws it).
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.dataset.confirm) || form.dataset.confirm;
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);

  // A refused request (400, 422) comes back with the page part saying why: show it like any other answer.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 400 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.dataset && "autosubmit" in field.dataset && field.form) {
      field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) {
      window.print();
    }
  });

  function applyStyles(root) {
    root.querySelectorAll("[data-width]").forEach(function (el) {
      el.style.width = Math.max(0, Math.min(100, parseFloat(el.dataset.width) || 0)) + "%";
    });
    root.querySelectorAll("[data-shade]").forEach(function (el) {
      el.style.backgroundColor = "rgba(31, 78, 95, " + (parseFloat(el.dataset.shade) || 0) + ")";
    });
  }

  function labelStackedTables(root) {
    root.querySelectorAll("table.table-stack").forEach(function (table) {
      var headings = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.children, function (cell) {
          if (!cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", headings[column] || "");
          }
          column += cell.colSpan || 1;
        });
      });
    });
  }

  function clampLongText(root) {
    root.querySelectorAll("[data-clamp]").forEach(function (block) {
      if (block.dataset.clampDone || block.scrollHeight <= block.clientHeight + 1) {
        return;
      }
      block.dataset.clampDone = "1";
      var more = document.createElement("button");
      more.type = "button";
      more.className = "btn btn-link p-0 clamp-toggle";
      more.textContent = "more";
      more.setAttribute("aria-expanded", "false");
      more.addEventListener("click", function () {
        var open = block.classList.toggle("expanded");
        more.textContent = open ? "less" : "more";
        more.setAttribute("aria-expanded", open ? "true" : "false");
      });
      block.insertAdjacentElement("afterend", more);
    });
  }

  function showChosen(root) {
    root.querySelectorAll("[data-scroll-row]").forEach(function (row) {
      var chosen = row.querySelector("[aria-current]");
      if (chosen && row.scrollWidth > row.clientWidth) {
        row.scrollLeft = Math.max(0, chosen.offsetLeft - row.offsetLeft - 24);
      }
    });
  }

  function enhance(root) {
    applyStyles(root);
    showChosen(root);
    clampLongText(root);
    labelStackedTables(root.closest ? (root.closest("table") || root) : root);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  // Parts swapped in by htmx get the same treatment.
  document.addEventListener("htmx:afterSwap", function (event) { enhance(event.target); });
})();

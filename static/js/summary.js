/* The summary page, progressively: each streamed section takes its placeholder's place, so the
   page reads in order while it loads (portal/summary_page.py). Also the print button. No data
   and no tokens pass through here: the sections are server-rendered HTML from our own origin.
   Without this script the page still works: CSS hides a placeholder once its section is in. */
(function () {
  "use strict";

  function place(node) {
    if (!(node instanceof HTMLElement)) return;
    var target = null;
    if (node.classList.contains("patient-line") && !node.hasAttribute("data-pending")) {
      target = document.querySelector(".patient-line[data-pending]");
    } else if (node.hasAttribute("data-section")) {
      target = document.querySelector(
        '[data-pending-section="' + node.getAttribute("data-section") + '"]'
      );
    } else if (node.classList.contains("stream-ended")) {
      document.querySelectorAll("[data-pending-section]").forEach(function (pending) {
        pending.remove();
      });
    }
    if (target && target !== node) target.replaceWith(node);
  }

  var observer = new MutationObserver(function (records) {
    records.forEach(function (record) {
      record.addedNodes.forEach(place);
    });
  });
  observer.observe(document.documentElement, { childList: true, subtree: true });

  function printedOn() {
    document.querySelectorAll("[data-printed-on]").forEach(function (slot) {
      slot.textContent = new Date().toLocaleString(document.documentElement.lang || undefined);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    // Records not yet delivered would be dropped by disconnect(): place those first, then
    // sweep once more for any section whose placeholder is still there.
    observer.takeRecords().forEach(function (record) {
      record.addedNodes.forEach(place);
    });
    observer.disconnect();
    document.querySelectorAll("[data-section], .patient-line, .stream-ended").forEach(place);
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    });
    window.addEventListener("beforeprint", printedOn);
  });
})();

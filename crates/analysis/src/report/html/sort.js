// Sortable tables: click a column header (or press Enter on it) to sort by that column,
// again to reverse. Cells with data-sort (numbers, computed when the report was written)
// compare as numbers, other cells as text with digit runs compared by value; empty cells
// ("–", class na) go last either way. Marks the page ready when done.
(function () {
  "use strict";
  function compare(a, b) {
    var x = a.getAttribute("data-sort"), y = b.getAttribute("data-sort");
    if (x !== null && y !== null) {
      var p = Number(x), q = Number(y);
      return p < q ? -1 : p > q ? 1 : 0;
    }
    return a.textContent.localeCompare(b.textContent, undefined, { numeric: true });
  }
  function sortBy(table, col, th) {
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) {
      h.setAttribute("aria-sort", "none");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r, s) { // stable: ties keep their order
      var a = r.cells[col], b = s.cells[col];
      var na = a.classList.contains("na"), nb = b.classList.contains("na");
      if (na || nb) { return na === nb ? 0 : na ? 1 : -1; }
      var c = compare(a, b);
      return ascending ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      th.title = "Sort by this column (again: reverse)";
      th.addEventListener("click", function () { sortBy(table, col, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, col, th); }
      });
    });
  });
  document.documentElement.setAttribute("data-sortable-tables", String(tables.length));
  document.documentElement.setAttribute("data-report", "ready");
})();

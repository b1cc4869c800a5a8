// novareel gallery filters: show the cards whose data-* attributes match the chosen
// status, model and batch. No user text is evaluated: values are compared as strings.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) {
    return;
  }
  var selects = Array.prototype.slice.call(form.querySelectorAll("select[data-filter]"));
  var cards = Array.prototype.slice.call(document.querySelectorAll("article.card"));
  var shown = document.getElementById("shown");

  function apply() {
    var count = 0;
    cards.forEach(function (card) {
      var match = selects.every(function (select) {
        return !select.value || card.getAttribute("data-" + select.dataset.filter) === select.value;
      });
      card.hidden = !match;
      if (match) {
        count += 1;
      }
    });
    if (shown) {
      shown.textContent = count + " of " + cards.length + " shown";
    }
  }

  selects.forEach(function (select) {
    var values = Array.prototype.slice.call(select.options, 1).map(function (o) {
      return o.value;
    });
    var everyCard = values.length === 1 && cards.every(function (card) {
      return card.getAttribute("data-" + select.dataset.filter) === values[0];
    });
    if (values.length === 0 || everyCard) {
      select.parentElement.hidden = true;  // nothing to choose between
    }
    select.addEventListener("change", apply);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
  });
  form.hidden = false;
  apply();
})();

// Live refresh, the one thing the dashboard does with JavaScript: reload every
// data-live seconds while the page is visible and nobody is typing into a form.
(function () {
  var seconds = Number(document.body.getAttribute('data-live'));
  if (!seconds) return;
  var editing = false;
  document.addEventListener('input', function () { editing = true; });
  function busy() {
    var el = document.activeElement;
    return editing || document.hidden || (el && /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) && el.type !== 'submit');
  }
  setInterval(function () { if (!busy()) window.location.reload(); }, seconds * 1000);
})();

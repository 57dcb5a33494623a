// console.js — optional niceties of the web console (it works without JavaScript; the CSP
// allows only this file). Asks before cancelling a message.
document.addEventListener('submit', function (e) {
  var f = e.target;
  if (f && f.getAttribute('data-confirm') && !window.confirm(f.getAttribute('data-confirm'))) e.preventDefault();
});

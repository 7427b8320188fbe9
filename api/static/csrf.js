/* The session's CSRF token (from <meta name="csrf-token">) for the pages' POST/PATCH/DELETE calls. */
window.PmoCsrf = function () {
  'use strict';
  var m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.getAttribute('content') : '';
};

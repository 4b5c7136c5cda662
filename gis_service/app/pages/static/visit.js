// Fill the GPS fix from the browser's geolocation when the user allows it.
(function () {
  var lon = document.getElementById("lon"), lat = document.getElementById("lat");
  if (!navigator.geolocation || !lon || !lat || lon.value || lat.value) return;
  navigator.geolocation.getCurrentPosition(function (p) {
    lon.value = p.coords.longitude.toFixed(6);
    lat.value = p.coords.latitude.toFixed(6);
  }, function () {}, { timeout: 10000, maximumAge: 60000 });
})();

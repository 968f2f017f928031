// The toolbar button opens the app in a tab: a popup would close, socket and all, as soon as
// it lost focus.
chrome.action.onClicked.addListener(() => {
  chrome.tabs.create({ url: chrome.runtime.getURL("app.html") });
});

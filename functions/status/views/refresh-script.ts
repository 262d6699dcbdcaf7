/**
 * The dashboard's only script: every few seconds it asks `./?fragment=1` for the
 * environments, sending the last ETag; a 304 means nothing changed, a 200
 * swaps `<main>`'s content in place (no reload, no flicker). It also keeps the
 * relative times current and pauses while the tab is hidden. Announcements go
 * to a polite live region only when something changed or went wrong.
 */
import { RELATIVE_TIME_SCRIPT } from '../../lib/status/relative-time.js'

export const REFRESH_SCRIPT = `(function(){
${RELATIVE_TIME_SCRIPT}
var main=document.getElementById('status');var note=document.getElementById('refresh-note');
if(!main)return;
var etag=main.getAttribute('data-etag')||'';
var every=Math.max(1,Number(main.getAttribute('data-refresh-seconds'))||15)*1000;
var busy=false;
function relabel(){var ts=document.querySelectorAll('time[data-relative]');var now=Date.now();
for(var i=0;i<ts.length;i++){var t=Date.parse(ts[i].getAttribute('datetime'));if(!isNaN(t))ts[i].textContent=rel(t,now)}}
function say(text){if(note&&note.textContent!==text)note.textContent=text}
function tick(){if(busy||document.hidden)return;busy=true;
var headers={};if(etag)headers['If-None-Match']=etag;
fetch('./?fragment=1',{headers:headers,credentials:'same-origin',cache:'no-store'}).then(function(res){
if(res.status===304){return}
if(res.status===401){say('Your dashboard session ended: open the dashboard link again.');return}
if(!res.ok){say('Could not refresh (HTTP '+res.status+'); retrying.');return}
return res.text().then(function(html){main.innerHTML=html;etag=res.headers.get('ETag')||'';
main.setAttribute('data-etag',etag);say('Updated '+new Date().toLocaleTimeString()+'.')})
}).catch(function(){say('Offline; retrying.')}).then(function(){busy=false;relabel()})}
setInterval(tick,every);
document.addEventListener('visibilitychange',function(){if(!document.hidden)tick()});
})();`

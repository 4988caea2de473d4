// The prebundled browser build of simple-peer has the same API as the package's main entry.
declare module 'simple-peer/simplepeer.min.js' {
  import SimplePeer from 'simple-peer';
  export default SimplePeer;
}

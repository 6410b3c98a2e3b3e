// Unix seconds, the unit of the stereo tables' timestamps.
export const unixSeconds = (): number => Math.floor(Date.now() / 1000);

// A media asset's folder in its bucket: orgs/{org_id}/uploads/{media_id}/ (RUGBYCODEX.md).
// get-wasabi-upload-session puts the raw upload at …/raw/{file_name} in it whatever
// base_org_storage_path says (that column only tells the player where the output goes), and
// cleanup deletes exactly this folder. complete-upload stores the storage_path its caller
// sends, checking only that the object exists, so a row can name any key of the bucket,
// another org's video included: the worker reads an asset's raw video only from its own folder.
import { safeKeyProblem } from '../object-keys.js';

export function assetFolder(orgId: string, mediaId: string): string {
  return `orgs/${orgId}/uploads/${mediaId}/`;
}

/** Why `storagePath` must not be read as the asset's raw video, or null when it may. */
export function sourceKeyProblem(asset: { readonly id: string; readonly orgId: string; readonly storagePath: string }): string | null {
  const key = asset.storagePath;
  const shown = JSON.stringify(typeof key === 'string' && key.length > 200 ? `${key.slice(0, 200)}…` : key);
  const unsafe = safeKeyProblem(key);
  if (unsafe !== null) return `the raw video's storage_path ${shown} ${unsafe}`;
  const folder = assetFolder(asset.orgId, asset.id);
  if (!key.startsWith(folder) || key.length === folder.length) return `the raw video's storage_path ${shown} is outside the asset's folder ${folder}`;
  return null;
}

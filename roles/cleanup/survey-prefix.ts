// What a cleanup would delete (--dry-run): one listing, nothing changed.
import type { ObjectStore } from '../../src/ports/index.js';

export interface PrefixSurvey {
  objects: number;
  bytes: number;
  /** The first keys in listing (key) order. */
  firstKeys: string[];
}

export async function surveyPrefix(store: ObjectStore, prefix: string, firstKeys = 10): Promise<PrefixSurvey> {
  const survey: PrefixSurvey = { objects: 0, bytes: 0, firstKeys: [] };
  for await (const object of store.list(prefix)) {
    survey.objects++;
    survey.bytes += object.size;
    if (survey.firstKeys.length < firstKeys) survey.firstKeys.push(object.key);
  }
  return survey;
}

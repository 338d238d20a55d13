import { OperationNodeTransformer } from 'kysely';
import type { PrimitiveValueListNode, ValueNode } from 'kysely';

const NUL = new RegExp(String.fromCharCode(0), 'g');

function withoutNul(value: unknown): unknown {
  return typeof value === 'string' && value.includes('\u0000') ? value.replace(NUL, '\uFFFD') : value;
}

/**
 * U+0000 in a bound string becomes U+FFFD, on both databases. PostgreSQL text cannot hold NUL
 * and fails the whole statement (a 500); SQLite stores it but cuts strings at it in LIKE and
 * other functions. Such input is garbage either way: this way a login with a NUL in the name is a
 * plain miss and a stored name keeps every other character, identically on SQLite and PostgreSQL.
 */
export class NulAsReplacementCharacter extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode): ValueNode {
    return typeof node.value === 'string' ? { ...node, value: withoutNul(node.value) } : super.transformValue(node);
  }

  protected override transformPrimitiveValueList(node: PrimitiveValueListNode): PrimitiveValueListNode {
    return node.values.some((value) => typeof value === 'string' && value.includes('\u0000')) ? { ...node, values: node.values.map(withoutNul) } : node;
  }
}

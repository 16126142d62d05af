// The p11-kit RPC call table (spec §3.6): id, name, request and response signature strings.
// Protocol 0 (Debian 12's p11-kit 0.24.1) has ids 1–65; 66–87 are the PKCS#11 3.0 calls of
// p11-kit 0.25.0+, 88 C_InitToken2 (protocol 1) and 89 C_DeriveKey2 (protocol 2).

/** One RPC call: `request` null only for ERROR (id 0), which is response-only. */
export interface RpcCall {
  readonly id: number;
  readonly name: string;
  readonly request: string | null;
  readonly response: string;
  /** The lowest protocol version that has the call. */
  readonly since: number;
}

const call = (id: number, name: string, request: string | null, response: string, since: number): RpcCall => Object.freeze({ id, name, request, response, since });

/**
 * Every call by id (index = id), with p11-kit's signature strings. A request whose signature string
 * differs from `request` is malformed (the connection is dropped).
 *
 * @example
 * RPC_CALLS[43]; // { id: 43, name: 'C_Sign', request: 'uayfy', response: 'ay', since: 0 }
 */
export const RPC_CALLS: readonly RpcCall[] = Object.freeze([
  call(0, 'ERROR', null, 'u', 0),
  call(1, 'C_Initialize', 'ayyay', '', 0),
  call(2, 'C_Finalize', '', '', 0),
  call(3, 'C_GetInfo', '', 'vsusv', 0),
  call(4, 'C_GetSlotList', 'yfu', 'au', 0),
  call(5, 'C_GetSlotInfo', 'u', 'ssuvv', 0),
  call(6, 'C_GetTokenInfo', 'u', 'ssssuuuuuuuuuuuvvs', 0),
  call(7, 'C_GetMechanismList', 'ufu', 'au', 0),
  call(8, 'C_GetMechanismInfo', 'uu', 'uuu', 0),
  call(9, 'C_InitToken', 'uayz', '', 0),
  call(10, 'C_OpenSession', 'uu', 'u', 0),
  call(11, 'C_CloseSession', 'u', '', 0),
  call(12, 'C_CloseAllSessions', 'u', '', 0),
  call(13, 'C_GetSessionInfo', 'u', 'uuuu', 0),
  call(14, 'C_InitPIN', 'uay', '', 0),
  call(15, 'C_SetPIN', 'uayay', '', 0),
  call(16, 'C_GetOperationState', 'ufy', 'ay', 0),
  call(17, 'C_SetOperationState', 'uayuu', '', 0),
  call(18, 'C_Login', 'uuay', '', 0),
  call(19, 'C_Logout', 'u', '', 0),
  call(20, 'C_CreateObject', 'uaA', 'u', 0),
  call(21, 'C_CopyObject', 'uuaA', 'u', 0),
  call(22, 'C_DestroyObject', 'uu', '', 0),
  call(23, 'C_GetObjectSize', 'uu', 'u', 0),
  call(24, 'C_GetAttributeValue', 'uufA', 'aAu', 0),
  call(25, 'C_SetAttributeValue', 'uuaA', '', 0),
  call(26, 'C_FindObjectsInit', 'uaA', '', 0),
  call(27, 'C_FindObjects', 'ufu', 'au', 0),
  call(28, 'C_FindObjectsFinal', 'u', '', 0),
  call(29, 'C_EncryptInit', 'uMu', '', 0),
  call(30, 'C_Encrypt', 'uayfy', 'ay', 0),
  call(31, 'C_EncryptUpdate', 'uayfy', 'ay', 0),
  call(32, 'C_EncryptFinal', 'ufy', 'ay', 0),
  call(33, 'C_DecryptInit', 'uMu', '', 0),
  call(34, 'C_Decrypt', 'uayfy', 'ay', 0),
  call(35, 'C_DecryptUpdate', 'uayfy', 'ay', 0),
  call(36, 'C_DecryptFinal', 'ufy', 'ay', 0),
  call(37, 'C_DigestInit', 'uM', '', 0),
  call(38, 'C_Digest', 'uayfy', 'ay', 0),
  call(39, 'C_DigestUpdate', 'uay', '', 0),
  call(40, 'C_DigestKey', 'uu', '', 0),
  call(41, 'C_DigestFinal', 'ufy', 'ay', 0),
  call(42, 'C_SignInit', 'uMu', '', 0),
  call(43, 'C_Sign', 'uayfy', 'ay', 0),
  call(44, 'C_SignUpdate', 'uay', '', 0),
  call(45, 'C_SignFinal', 'ufy', 'ay', 0),
  call(46, 'C_SignRecoverInit', 'uMu', '', 0),
  call(47, 'C_SignRecover', 'uayfy', 'ay', 0),
  call(48, 'C_VerifyInit', 'uMu', '', 0),
  call(49, 'C_Verify', 'uayay', '', 0),
  call(50, 'C_VerifyUpdate', 'uay', '', 0),
  call(51, 'C_VerifyFinal', 'uay', '', 0),
  call(52, 'C_VerifyRecoverInit', 'uMu', '', 0),
  call(53, 'C_VerifyRecover', 'uayfy', 'ay', 0),
  call(54, 'C_DigestEncryptUpdate', 'uayfy', 'ay', 0),
  call(55, 'C_DecryptDigestUpdate', 'uayfy', 'ay', 0),
  call(56, 'C_SignEncryptUpdate', 'uayfy', 'ay', 0),
  call(57, 'C_DecryptVerifyUpdate', 'uayfy', 'ay', 0),
  call(58, 'C_GenerateKey', 'uMaA', 'u', 0),
  call(59, 'C_GenerateKeyPair', 'uMaAaA', 'uu', 0),
  call(60, 'C_WrapKey', 'uMuufy', 'ay', 0),
  call(61, 'C_UnwrapKey', 'uMuayaA', 'u', 0),
  call(62, 'C_DeriveKey', 'uMuaA', 'u', 0),
  call(63, 'C_SeedRandom', 'uay', '', 0),
  call(64, 'C_GenerateRandom', 'ufy', 'ay', 0),
  call(65, 'C_WaitForSlotEvent', 'u', 'u', 0),
  call(66, 'C_LoginUser', 'uuayay', '', 1),
  call(67, 'C_SessionCancel', 'uu', '', 1),
  call(68, 'C_MessageEncryptInit', 'uMu', '', 1),
  call(69, 'C_EncryptMessage', 'uayayayfy', 'ay', 1),
  call(70, 'C_EncryptMessageBegin', 'uayay', '', 1),
  call(71, 'C_EncryptMessageNext', 'uayayfyu', 'ay', 1),
  call(72, 'C_MessageEncryptFinal', 'u', '', 1),
  call(73, 'C_MessageDecryptInit', 'uMu', '', 1),
  call(74, 'C_DecryptMessage', 'uayayayfy', 'ay', 1),
  call(75, 'C_DecryptMessageBegin', 'uayay', '', 1),
  call(76, 'C_DecryptMessageNext', 'uayayfyu', 'ay', 1),
  call(77, 'C_MessageDecryptFinal', 'u', '', 1),
  call(78, 'C_MessageSignInit', 'uMu', '', 1),
  call(79, 'C_SignMessage', 'uayayfy', 'ay', 1),
  call(80, 'C_SignMessageBegin', 'uay', '', 1),
  call(81, 'C_SignMessageNext', 'uayayyfy', 'ay', 1),
  call(82, 'C_MessageSignFinal', 'u', '', 1),
  call(83, 'C_MessageVerifyInit', 'uMu', '', 1),
  call(84, 'C_VerifyMessage', 'uayayay', '', 1),
  call(85, 'C_VerifyMessageBegin', 'uay', '', 1),
  call(86, 'C_VerifyMessageNext', 'uayayay', '', 1),
  call(87, 'C_MessageVerifyFinal', 'u', '', 1),
  call(88, 'C_InitToken2', 'uays', '', 1),
  call(89, 'C_DeriveKey2', 'uMuaA', 'uPu', 2),
]);

/** Call ids by name (`RPC_CALL.C_Sign` = 43). @example encodeRequest(RPC_CALL.C_GetInfo) */
export const RPC_CALL: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(RPC_CALLS.map((c) => [c.name, c.id])));

/** The ERROR message's call id: its body is the signature "u" and one CK_RV. */
export const RPC_CALL_ERROR = 0;
/** The highest call id of protocol version 0. */
export const RPC_V0_LAST_CALL = 65;
/** The highest protocol version this server speaks. */
export const RPC_PROTOCOL_MAX = 0;
/** The C_Initialize handshake string (P12). */
export const RPC_HANDSHAKE = 'PRIVATE-GNOME-KEYRING-PKCS11-PROTOCOL-V-1';

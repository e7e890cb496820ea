// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IErc1271 {
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4);
}

/// @title Erc6492SigValidator — checks one signature for one address, as EIP-6492 describes, without being deployed.
/// @notice The gateway sends this contract's creation code with its constructor arguments in an `eth_call` that has
/// no `to`: the constructor runs, answers one byte (0x01 valid, 0x00 not) and nothing stays on chain. It accepts a
/// wallet not deployed yet (EIP-6492: the signature carries the factory call that would deploy it, which runs only
/// in the simulation), a deployed contract wallet (EIP-1271 `isValidSignature`), and a plain key (ECDSA).
/// Compiled into src/siwx/erc6492-validator-bytecode.ts (npm run contracts:validator).
contract Erc6492SigValidator {
    bytes32 private constant ERC6492_SUFFIX = 0x6492649264926492649264926492649264926492649264926492649264926492;
    bytes4 private constant ERC1271_MAGIC = 0x1626ba7e;
    /// secp256k1n / 2: larger `s` values are malleable duplicates.
    uint256 private constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    constructor(address signer, bytes32 hash, bytes memory signature) {
        bool valid = isValid(signer, hash, signature);
        assembly {
            mstore(0, valid)
            return(31, 1)
        }
    }

    function isValid(address signer, bytes32 hash, bytes memory signature) private returns (bool) {
        uint256 length = signature.length;
        bytes32 tail;
        if (length >= 32) {
            assembly {
                tail := mload(add(signature, length))
            }
        }
        if (tail == ERC6492_SUFFIX) {
            // Drop the suffix in place: what is left is abi.encode(factory, factoryCalldata, innerSignature).
            assembly {
                mstore(signature, sub(length, 32))
            }
            (address factory, bytes memory factoryCalldata, bytes memory inner) = abi.decode(signature, (address, bytes, bytes));
            if (signer.code.length == 0) {
                (bool deployed, ) = factory.call(factoryCalldata);
                if (!deployed || signer.code.length == 0) return false;
            }
            return erc1271(signer, hash, inner);
        }
        if (signer.code.length > 0) return erc1271(signer, hash, signature);
        return ecdsa(signer, hash, signature);
    }

    function erc1271(address signer, bytes32 hash, bytes memory signature) private view returns (bool) {
        try IErc1271(signer).isValidSignature(hash, signature) returns (bytes4 answer) {
            return answer == ERC1271_MAGIC;
        } catch {
            return false;
        }
    }

    function ecdsa(address signer, bytes32 hash, bytes memory signature) private pure returns (bool) {
        if (signature.length != 65 || signer == address(0)) return false;
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(signature, 32))
            s := mload(add(signature, 64))
            v := byte(0, mload(add(signature, 96)))
        }
        if (v < 27) v += 27;
        if (uint256(s) > HALF_ORDER) return false;
        return ecrecover(hash, v, r, s) == signer;
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TestPermit2} from "./TestPermit2.sol";

interface IERC2612 {
    function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;
}

/// @title TestPermit2DepositCollector — moves a batch-settlement deposit signed as a Permit2 witness transfer
/// (witness `DepositWitness(bytes32 channelId)`) straight from the payer to the escrow, for local tests only.
/// @notice An optional EIP-2612 permit for Permit2 is tried first and may fail (the allowance may exist already).
contract TestPermit2DepositCollector {
    string public constant DEPOSIT_WITNESS_TYPE_STRING =
        "DepositWitness witness)DepositWitness(bytes32 channelId)TokenPermissions(address token,uint256 amount)";
    bytes32 public constant DEPOSIT_WITNESS_TYPEHASH = keccak256("DepositWitness(bytes32 channelId)");

    address public immutable x402BatchSettlement;
    TestPermit2 public immutable PERMIT2;

    event EIP2612PermitFailed(address token, address payer);

    error InvalidX402BatchSettlementAddress();
    error InvalidPermit2Address();
    error OnlyX402BatchSettlement();
    error Permit2612AmountMismatch();

    constructor(address settlement, TestPermit2 permit2) {
        if (settlement == address(0)) revert InvalidX402BatchSettlementAddress();
        if (address(permit2) == address(0)) revert InvalidPermit2Address();
        x402BatchSettlement = settlement;
        PERMIT2 = permit2;
    }

    function collect(address payer, address token, uint256 amount, bytes32 channelId, bytes calldata collectorData) external {
        if (msg.sender != x402BatchSettlement) revert OnlyX402BatchSettlement();
        (uint256 nonce, uint256 deadline, bytes memory signature, bytes memory permit2612) = abi.decode(collectorData, (uint256, uint256, bytes, bytes));
        if (permit2612.length > 0) _tryPermit2612(payer, token, amount, permit2612);
        PERMIT2.permitWitnessTransferFrom(
            TestPermit2.PermitTransferFrom({permitted: TestPermit2.TokenPermissions({token: token, amount: amount}), nonce: nonce, deadline: deadline}),
            TestPermit2.SignatureTransferDetails({to: x402BatchSettlement, requestedAmount: amount}),
            payer,
            keccak256(abi.encode(DEPOSIT_WITNESS_TYPEHASH, channelId)),
            DEPOSIT_WITNESS_TYPE_STRING,
            signature
        );
    }

    function _tryPermit2612(address payer, address token, uint256 amount, bytes memory permit2612) private {
        (uint256 value, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s) = abi.decode(permit2612, (uint256, uint256, uint8, bytes32, bytes32));
        if (value != amount) revert Permit2612AmountMismatch();
        try IERC2612(token).permit(payer, address(PERMIT2), value, permitDeadline, v, r, s) {} catch {
            emit EIP2612PermitFailed(token, payer);
        }
    }
}
